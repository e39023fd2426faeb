import { DockerfileError } from '../../common/errors.js';
import { closest } from '../../common/suggest.js';
import { groupStages, type ArgInstruction, type Instruction, type ParseResult, type Stage } from '../../grammar/index.js';
import { BuildError } from '../errors.js';
import { copyFromVariableError, makeExpander, type ExpanderContext } from './expand.js';

/** Where a stage starts from. */
export type StageBase = { kind: 'scratch' } | { kind: 'stage'; index: number } | { kind: 'image'; ref: string };

export interface PlannedStage {
  index: number;
  name?: string;
  /** How messages and progress name the stage: its `AS` name, else `stage-N` as BuildKit does. */
  label: string;
  stage: Stage;
  base: StageBase;
  /** Expanded `FROM --platform`. */
  platform?: string;
  /** Stages this one reads from (FROM, COPY --from, RUN --mount from=). */
  deps: number[];
  /** The instruction that makes each dependency, for messages. */
  depSites: Map<number, Instruction>;
}

export interface BuildPlan {
  file: string;
  escapeToken: '\\' | '`';
  lines: readonly string[];
  /** Values of global ARGs and automatic args, for FROM lines and value-less stage ARGs. */
  globals: Map<string, string | undefined>;
  stages: PlannedStage[];
  /** The stages to build, dependencies before dependents; the target is last. */
  order: number[];
  target: number;
}

export interface PlanOptions {
  buildArgs: ReadonlyMap<string, string>;
  automaticArgs: ReadonlyMap<string, string>;
  /** `--target`: a stage name. Default: the last stage. */
  target?: string;
  /** Source text, for carets under failing lines. */
  source: string;
  /** `--build-context` names: each replaces the stage of that name, which is then never built (BuildKit). */
  namedContexts?: ReadonlySet<string>;
}

/** Global ARGs in order, each default expanded with the ones before it; --build-arg wins. */
function evaluateGlobals(args: ArgInstruction[], opts: PlanOptions, ctx: ExpanderContext): Map<string, string | undefined> {
  const globals = new Map<string, string | undefined>(opts.automaticArgs);
  for (const ins of args) {
    const env = new Map<string, string>();
    for (const [k, v] of globals) if (v !== undefined) env.set(k, v);
    const x = makeExpander(ctx, ins, env);
    for (const a of ins.args) {
      // The name is taken as written, as BuildKit's buildMetaArgs does; only the default expands.
      const key = a.key;
      const given = opts.buildArgs.get(key);
      globals.set(key, given ?? (a.value === undefined ? undefined : x(a.value)));
    }
  }
  return globals;
}

function definedEnv(globals: Map<string, string | undefined>): Map<string, string> {
  const env = new Map<string, string>();
  for (const [k, v] of globals) if (v !== undefined) env.set(k, v);
  return env;
}

function stageRefError(ctx: ExpanderContext, ins: Instruction, code: string, message: string, hint?: string): DockerfileError {
  const { line, column } = ins.range.start;
  return new DockerfileError(code, message, { file: ctx.file, line, column }, ctx.lines[line - 1], hint ? { hint } : {});
}

/**
 * Turns a parsed Dockerfile into the stages to build: FROM lines expanded with the global ARGs,
 * references between stages resolved (a name not naming a stage is an image), cycles rejected,
 * and only the stages the target needs kept.
 */
export function planBuild(parsed: ParseResult, opts: PlanOptions): BuildPlan {
  const lines = opts.source.split(/\r?\n/);
  const ctx: ExpanderContext = { file: parsed.file, escapeToken: parsed.escapeToken, lines };
  const grouped = groupStages(parsed.instructions, parsed.file);
  if (grouped.stages.length === 0) throw new BuildError('E_BUILD_NO_STAGE', `${parsed.file} has no FROM instruction`);
  // TARGETSTAGE, BuildKit's automatic arg: the stage being built, `default` for an unnamed last one.
  const targetStage = opts.target ?? grouped.stages[grouped.stages.length - 1]!.name ?? 'default';
  const globals = evaluateGlobals(grouped.globalArgs, { ...opts, automaticArgs: new Map([...opts.automaticArgs, ['TARGETSTAGE', targetStage]]) }, ctx);
  const metaEnv = definedEnv(globals);

  const byName = new Map<string, number>();
  const stages: PlannedStage[] = [];
  for (const stage of grouped.stages) {
    const x = makeExpander(ctx, stage.from, metaEnv);
    const image = x(stage.from.image);
    const platform = stage.from.platform === undefined ? undefined : x(stage.from.platform);
    // FROM sees only stages defined above it, by the name as it is spelt there: stage names are
    // lowercased, but BuildKit looks FROM's expanded name up as it is (dispatchStates.addState),
    // so `FROM Build` is the image `Build`, an invalid reference (moby/buildkit#2003).
    const earlier = opts.namedContexts?.has(image) ? undefined : byName.get(image);
    const base: StageBase = earlier !== undefined ? { kind: 'stage', index: earlier } : image === 'scratch' ? { kind: 'scratch' } : { kind: 'image', ref: image };
    if (image === '') throw stageRefError(ctx, stage.from, 'E_BUILD_BASE_IMAGE', 'FROM names no image (the expanded name is empty)');
    const label = stage.name ?? `stage-${stage.index}`;
    stages.push({ index: stage.index, ...(stage.name ? { name: stage.name } : {}), label, stage, base, ...(platform ? { platform } : {}), deps: [], depSites: new Map() });
    if (stage.name) byName.set(stage.name, stage.index);
  }

  // COPY --from names an earlier stage, as BuildKit requires; RUN --mount from= may name any.
  for (const p of stages) {
    const deps = p.depSites;
    if (p.base.kind === 'stage') deps.set(p.base.index, p.stage.from);
    const x = makeExpander(ctx, p.stage.from, metaEnv);
    for (const ins of p.stage.instructions) {
      const refs: { ref: string; copy: boolean }[] = [];
      const fromError = copyFromVariableError(ctx, ins);
      if (fromError) throw fromError;
      if (ins.kind === 'copy' && ins.from !== undefined) refs.push({ ref: ins.from, copy: true });
      if (ins.kind === 'run') for (const m of ins.mounts) if ((m.type === 'bind' || m.type === 'cache') && m.from !== undefined) refs.push({ ref: x(m.from), copy: false });
      for (const { ref, copy } of refs) {
        if (opts.namedContexts?.has(ref)) continue;
        const idx = resolveStageRef(ref, stages, byName);
        if (idx === 'bad-index') throw stageRefError(ctx, ins, 'E_BUILD_UNKNOWN_STAGE', `invalid stage index ${ref}: the Dockerfile has stages 0 to ${stages.length - 1}`);
        if (idx === p.index) throw stageRefError(ctx, ins, 'E_BUILD_CYCLE', `stage ${p.label} refers to itself`);
        if (copy && idx !== undefined && idx > p.index) {
          throw stageRefError(ctx, ins, 'E_BUILD_STAGE_ORDER', `cannot copy from stage "${ref}", it needs to be defined before current stage "${p.label}"`, 'move that stage above this one');
        }
        if (idx !== undefined && !deps.has(idx)) deps.set(idx, ins);
      }
    }
    p.deps = [...deps.keys()];
  }

  let target = stages.length - 1;
  if (opts.target !== undefined) {
    const t = byName.get(opts.target.toLowerCase());
    if (t === undefined) {
      const names = stages.filter((s) => s.name).map((s) => s.name!);
      // As BuildKit: a near miss is named in the message (testTargetMistype).
      const near = closest(opts.target.toLowerCase(), names);
      throw new BuildError('E_BUILD_UNKNOWN_TARGET', `target stage "${opts.target}" could not be found${near ? ` (did you mean ${near}?)` : ''}`, {
        hint: names.length ? `stages with a name: ${names.join(', ')}` : 'the Dockerfile has no named stages (FROM ... AS name)',
      });
    }
    target = t;
  }

  const order: number[] = [];
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (i: number, chain: number[]) => {
    const s = state.get(i);
    if (s === 'done') return;
    if (s === 'visiting') {
      const from = stages[chain[chain.length - 1]!]!;
      const cycle = [...chain.slice(chain.indexOf(i)), i].map((n) => stages[n]!.label).join(' -> ');
      const ins = from.depSites.get(i) ?? from.stage.from;
      throw stageRefError(ctx, ins, 'E_BUILD_CYCLE', `circular dependency between stages: ${cycle}`);
    }
    state.set(i, 'visiting');
    for (const d of stages[i]!.deps) visit(d, [...chain, i]);
    state.set(i, 'done');
    order.push(i);
  };
  visit(target, []);
  return { file: parsed.file, escapeToken: parsed.escapeToken, lines, globals, stages, order, target };
}

export function resolveStageRef(ref: string, stages: readonly PlannedStage[], byName?: ReadonlyMap<string, number>): number | undefined | 'bad-index' {
  if (/^\d+$/.test(ref)) {
    const n = Number(ref);
    return n < stages.length ? n : 'bad-index';
  }
  if (byName) return byName.get(ref.toLowerCase());
  // Of stages sharing a name, --from means the last, as in BuildKit (a later one replaces the name).
  return stages.findLast((s) => s.name === ref.toLowerCase())?.index;
}
