import { DockerfileError } from '../../common/errors.js';
import { expandMount, expandWord, MountProblem, ShellExpansionError, type Instruction, type KeyValue, type MountSpec, type ShellEnv } from '../../grammar/index.js';

/** Expands one word of an instruction, turning expansion failures into errors at its line. */
export type WordExpander = (word: string) => string;

export interface ExpanderContext {
  file: string;
  escapeToken: '\\' | '`';
  /** Source lines of the Dockerfile, for the caret under the failing instruction. */
  lines: readonly string[];
}

/** The instruction expanded (expandInstruction); a `--mount` value invalid once expanded fails at its line. */
export function expandAt<T extends Instruction>(ctx: ExpanderContext, ins: T, env: ShellEnv, overridden?: (argKey: string) => boolean): T {
  try {
    return expandInstruction(ins, makeExpander(ctx, ins, env), overridden);
  } catch (e) {
    if (!(e instanceof MountProblem)) throw e;
    const { line, column } = ins.range.start;
    throw new DockerfileError('E_BUILD_MOUNT', e.message, { file: ctx.file, line, column }, ctx.lines[line - 1]);
  }
}

/** Go's sort.Strings order: by UTF-8 bytes. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * BuildKit's toCommand: `COPY --from` takes no variables. A value that expansion with no variables
 * at all would change (`$X`, `${X:-a}`, an escape) is an error, even in a stage not built.
 */
export function copyFromVariableError(ctx: ExpanderContext, ins: Instruction): DockerfileError | undefined {
  if (ins.kind !== 'copy' || ins.from === undefined) return undefined;
  let same: boolean;
  try {
    same = expandWord(ins.from, new Map(), { escapeToken: ctx.escapeToken }) === ins.from;
  } catch {
    same = false;
  }
  if (same) return undefined;
  const { line, column } = ins.range.start;
  return new DockerfileError(
    'E_BUILD_COPY_FROM_VAR',
    'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
    { file: ctx.file, line, column },
    ctx.lines[line - 1],
  );
}

export function makeExpander(ctx: ExpanderContext, ins: { range: Instruction['range'] }, env: ShellEnv): WordExpander {
  return (word) => {
    try {
      return expandWord(word, env, { escapeToken: ctx.escapeToken });
    } catch (e) {
      if (!(e instanceof ShellExpansionError)) throw e;
      const { line, column } = ins.range.start;
      throw new DockerfileError('E_BUILD_EXPAND', e.message, { file: ctx.file, line, column }, ctx.lines[line - 1], { cause: e });
    }
  };
}

const pairs = (kvs: KeyValue[], x: WordExpander): KeyValue[] => kvs.map((p) => ({ ...p, key: x(p.key), value: x(p.value) }));

function mount(m: MountSpec, x: WordExpander): MountSpec {
  // Fields that held variables were not checked at parse time: the whole value is, once expanded.
  if (m.raw.includes('$')) return expandMount(m.raw, x);
  const out = { ...m } as MountSpec & { source?: string; from?: string; id?: string };
  if (out.target !== undefined) out.target = x(out.target);
  if (out.source !== undefined) out.source = x(out.source);
  if (out.from !== undefined) out.from = x(out.from);
  if (out.id !== undefined) out.id = x(out.id);
  return out;
}

/**
 * The instruction with ARG/ENV references expanded in exactly the fields BuildKit expands
 * (the commands implementing SupportsSingleWordExpansion, plus RUN's --mount options). RUN, CMD,
 * ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD and MAINTAINER are left alone: the shell in the
 * container (or nothing) expands those.
 */
export function expandInstruction<T extends Instruction>(ins: T, x: WordExpander, overridden: (argKey: string) => boolean = () => false): T {
  switch (ins.kind) {
    case 'env':
    case 'label':
      return { ...ins, pairs: pairs(ins.pairs, x) };
    case 'arg':
      // A default --build-arg replaces is never evaluated: `ARG B=${A:?}` with B given needs no A (BuildKit).
      // The name is not expanded: BuildKit's dispatch skips ArgCommand.Expand and only expands the default.
      return {
        ...ins,
        args: ins.args.map((a) => ({ key: a.key, ...(a.value === undefined || overridden(a.key) ? {} : { value: x(a.value) }) })),
      };
    case 'copy':
    case 'add':
      return {
        ...ins,
        sources: ins.sources.map(x),
        dest: x(ins.dest),
        ...(ins.chown === undefined ? {} : { chown: x(ins.chown) }),
        ...(ins.chmod === undefined ? {} : { chmod: x(ins.chmod) }),
        exclude: ins.exclude.map(x),
        // COPY --from is never expanded: one that would change is an error (copyFromVariableError).
        ...(ins.kind === 'add' && ins.checksum !== undefined ? { checksum: x(ins.checksum) } : {}),
      };
    case 'workdir':
      return { ...ins, path: x(ins.path) };
    case 'user':
      return { ...ins, user: x(ins.user) };
    case 'expose':
      // BuildKit's parseExpose sorts the words as written (sort.Strings, before expansion), and
      // they split after expansion (ProcessWords): `EXPOSE $PORTS` may give several.
      return { ...ins, ports: [...ins.ports].sort(byteOrder).flatMap((p) => x(p).split(/\s+/).filter(Boolean)) };
    case 'volume':
      return { ...ins, volumes: ins.volumes.map(x) };
    case 'stopsignal':
      return { ...ins, signal: x(ins.signal) };
    case 'from':
      return { ...ins, image: x(ins.image), ...(ins.platform === undefined ? {} : { platform: x(ins.platform) }) };
    case 'run':
      return { ...ins, mounts: ins.mounts.map((m) => mount(m, x)) };
    default:
      return ins;
  }
}
