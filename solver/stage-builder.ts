import { basename, join, posix } from 'node:path';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { DockerfileError, isKilnError, type KilnError } from '../common/errors.js';
import { canonicalJson, runKey, vertexKey, type MountKey } from '../cache/index.js';
import { expandHeredocBody, parseDockerfile, type AddInstruction, type CopyInstruction, type Instruction, type RunInstruction } from '../grammar/index.js';
import { DEFAULT_PATH, rfc3339, type ImageConfig, type LayerDescriptor } from '../oci/index.js';
import { createSnapshot, resolveInRoot, type RuntimeMount, type Snapshot } from '../runtime/index.js';
import { imageResult, resolveImage, scratchResult } from './base-image.js';
import { StepFailedError } from './errors.js';
import { explainMiss, loadPrevious, remember, rememberedKey, stepIdentity, type StepInputs } from './explain.js';
import { ConfigValueError, copyFromVariableError, expandAt, ImageState, resolveStageRef, StageVariables, type PlannedStage } from './frontend/index.js';
import { layerDirs, packDirectory, type ChainLayer, type PendingLayer } from './layers.js';
import { BUILD_HOSTNAME, runStep } from './run-step.js';
import type { BuildSession, NamedContext, StageResult } from './session.js';
import { StepLog } from './step-log.js';
import { mkdirWorkdir } from './workdir-step.js';
import { copyStep } from './copy-step.js';
import { heredocRun, scriptMount, scriptMountKey, type HeredocScript } from './heredoc-script.js';
import { cleanPath, cleanRel, layOutVisible, openContext, type BuildContext } from './context/index.js';
import { isGitSource, isUrlSource, prefetchUrl, type Prefetched } from './fileops/index.js';

/** ADD sources downloaded before their key is made: http(s) files, not git repositories. */
const isPrefetched = (source: string): boolean => isUrlSource(source) && !isGitSource(source);

/** `--build-context NAME=docker-image://scratch`: the empty image, as a FROM scratch is (BuildKit). */
const namesScratch = (named: NamedContext | undefined): boolean => named?.kind === 'image' && named.ref === 'scratch';

interface CacheRecord {
  layer: LayerDescriptor;
  /** When the layer was made (RFC 3339), reused as its history time. */
  created: string;
}

/** A step's layer as the stage goes on with it: from the cache, or just made and still committing. */
interface StepRecord {
  layer: ChainLayer;
  created: string;
}

type Body = Exclude<Instruction, { kind: 'from' }>;

/** Parses the base image's ONBUILD triggers; they run before the stage's own instructions. */
function onbuildTriggers(triggers: readonly string[], at: Instruction): Body[] {
  if (triggers.length === 0) return [];
  // Triggers run where the child's FROM is, so that is where their errors point.
  const parsed = parseDockerfile(`FROM scratch\n${triggers.join('\n')}\n`, { file: 'ONBUILD' });
  return parsed.instructions.slice(1).map((ins) => ({ ...ins, range: at.range }) as Body);
}

/** What BuildKit numbers in progress (`[stage 2/5] RUN ...`): the instructions that make a step of their own. */
const NUMBERED: ReadonlySet<Instruction['kind']> = new Set(['run', 'copy', 'add', 'workdir']);

class StageBuilder {
  private layers: ChainLayer[] = [];
  private key = '';
  private img!: ImageState;
  private step = 0;
  private total = 0;
  /** The instruction being built is one of the base image's ONBUILD triggers. */
  private inTrigger = false;
  private readonly noCache: boolean;
  private readonly cleanups: (() => Promise<void>)[] = [];

  constructor(
    private readonly s: BuildSession,
    private readonly p: PlannedStage,
  ) {
    this.noCache = s.noCache || s.noCacheFilter.has(p.label) || s.noCacheFilter.has(String(p.index));
  }

  private position(ins: Instruction) {
    const { line, column } = ins.range.start;
    return { position: { file: this.s.plan.file, line, column }, line: this.s.plan.lines[line - 1] };
  }

  private fail(ins: Instruction, code: string, message: string, hint?: string): DockerfileError {
    const { position, line } = this.position(ins);
    return new DockerfileError(code, message, position, line, hint ? { hint } : {});
  }

  /** A library error about this instruction, re-raised at its line (code, hint and cause kept). */
  private atLine<T>(ins: Instruction, fn: () => Promise<T>): Promise<T> {
    return fn().catch((e: unknown) => {
      throw isKilnError(e) && !(e instanceof DockerfileError) ? this.located(ins, e) : e;
    });
  }

  private located(ins: Instruction, e: KilnError): DockerfileError {
    const { position, line } = this.position(ins);
    return new DockerfileError(e.code, e.message, position, line, { cause: e, ...(e.hint ? { hint: e.hint } : {}) });
  }

  private vertexName(ins: Instruction): string {
    return `[${this.p.label} ${this.step}/${this.total}] ${this.inTrigger ? 'ONBUILD ' : ''}${ins.original.trim()}`;
  }

  async build(): Promise<StageResult> {
    try {
      return await this.walk();
    } finally {
      // Snapshots of other stages that COPY --from and RUN --mount read; nothing of this stage's
      // result needs them, so they go in the background (the build awaits that before it ends).
      for (const c of this.cleanups) this.s.commits.track(c().catch(() => undefined));
    }
  }

  /** The stage starts from the empty image: FROM scratch, or a named context that is docker-image://scratch. */
  private fromScratch(): boolean {
    const { p, s } = this;
    return p.base.kind === 'scratch' || (p.base.kind === 'image' && namesScratch(s.namedContexts.get(p.base.ref)));
  }

  private async base(): Promise<StageResult> {
    const { p, s } = this;
    if (p.base.kind === 'stage') return s.stageResult(p.base.index);
    if (p.base.kind === 'scratch' || this.fromScratch()) return scratchResult();
    const named = s.namedContexts.get(p.base.ref);
    const vertex = s.nextVertex();
    if (named?.kind === 'dir') {
      const name = `[${p.label} 1/${this.total}] FROM ${p.base.ref} (directory ${named.path})`;
      s.emit({ type: 'start', vertex, name, stage: p.label });
      const started = Date.now();
      const result = await this.atLine(p.stage.from, () => directoryBase(s, named.path));
      s.emit({ type: 'complete', vertex, durationMs: Date.now() - started });
      return result;
    }
    const ref = named?.kind === 'image' ? named.ref : p.base.ref;
    const name = `[${p.label} 1/${this.total}] FROM ${ref}`;
    const img = await resolveImage(s, ref, p.stage.from, p.platform);
    s.emit({ type: 'cached', vertex, name, stage: p.label });
    return imageResult(img);
  }

  private async walk(): Promise<StageResult> {
    const { s, p } = this;
    // BuildKit's numbering (prefixCommand): FROM an image is step 1, FROM scratch or another stage
    // no step, then each RUN, COPY, ADD and WORKDIR; config-only instructions take no number.
    const fromStep = p.base.kind !== 'stage' && !this.fromScratch() ? 1 : 0;
    this.total = fromStep + p.stage.instructions.filter((i) => NUMBERED.has(i.kind)).length;
    const base = await this.base();
    this.layers = [...base.layers];
    this.key = base.key;
    this.img = new ImageState(withPath(base.config), (env) => new StageVariables(s.buildArgs, s.plan.globals, env, base.args), s.created ?? base.config.history?.at(-1)?.created ?? base.config.created ?? rfc3339(new Date()), base.pendingHistory);
    const triggers = onbuildTriggers(this.img.container.OnBuild ?? [], p.stage.from);
    // The plan checked the Dockerfile's own COPY --from values; a trigger's are first seen here.
    for (const t of triggers) {
      const fromError = copyFromVariableError(s.plan, t);
      if (fromError) throw fromError;
    }
    this.img.container.OnBuild = null;
    this.total += triggers.filter((i) => NUMBERED.has(i.kind)).length;
    this.step = fromStep;
    for (const [i, raw] of [...triggers, ...p.stage.instructions].entries()) {
      s.scheduler.check();
      this.inTrigger = i < triggers.length;
      if (NUMBERED.has(raw.kind)) this.step++;
      const ins = expandAt(s.plan, raw, this.img.vars.expansionEnv(), (key) => this.img.vars.overridden(key));
      if (this.metadata(ins)) {
        if (ins.kind === 'workdir') await this.workdir(ins);
        continue;
      }
      switch (ins.kind) {
        case 'run':
          await this.run(ins);
          break;
        case 'copy':
        case 'add':
          await this.copy(ins);
          break;
        default:
          throw this.fail(ins, 'E_BUILD_UNSUPPORTED', `${(ins as Instruction).kind.toUpperCase()} cannot be used inside a stage`);
      }
    }
    const pendingHistory = this.img.pendingHistory;
    return { config: this.img.config, layers: this.layers, key: this.key, args: this.img.vars.scopeArgs(), ...(pendingHistory > 0 ? { pendingHistory } : {}) };
  }

  /** Applies a config-only instruction; a bad EXPOSE port, STOPSIGNAL or empty VOLUME fails the build at its line, as in BuildKit. */
  private metadata(ins: Instruction): boolean {
    try {
      return this.img.applyMetadata(ins);
    } catch (e) {
      if (e instanceof ConfigValueError) throw this.fail(ins, 'E_BUILD_INSTRUCTION', e.message);
      throw e;
    }
  }

  private stepInputs(key: string, command: string, other: unknown, files?: ReadonlyMap<string, string>): StepInputs {
    const args: Record<string, string | null> = {};
    for (const a of this.img.vars.declaredArgs()) args[a.key] = a.value ?? null;
    const argNames = new Set(Object.keys(args));
    return {
      key,
      parent: this.key,
      command,
      args,
      env: this.img.vars.imageEnv().filter((e) => !argNames.has(e.split('=')[0]!)),
      user: this.img.container.User ?? '',
      workdir: this.img.workdir,
      other: canonicalJson(other),
      ...(files ? { files: Object.fromEntries(files) } : {}),
    };
  }

  /**
   * One layer-making step: reused from the cache when its key is known, else run (once per key
   * across the build) with progress, a log file and a cache-miss explanation. A step that ran is
   * done once its layer dir is final; the layer's blob and cache record follow in the background.
   */
  private async layerStep(ins: Instruction, key: string, inputsOf: () => StepInputs, run: (log: StepLog, signal: AbortSignal) => Promise<PendingLayer>): Promise<StepRecord> {
    const { s } = this;
    // A cache hit whose key is the one remembered needs none of this (a COPY's is a record of every file).
    let made: StepInputs | undefined;
    const inputs = () => (made ??= inputsOf());
    const identity = stepIdentity([s.identity, this.p.label, String(this.step), ins.kind]);
    const name = this.vertexName(ins);
    if (!this.noCache) {
      const rec = s.store.getCacheRecord<CacheRecord>(key);
      if (rec && (await s.store.hasBlob(rec.layer.digest))) {
        const vertex = s.nextVertex();
        s.keyLabels.set(key, `#${vertex}`);
        s.emit({ type: 'cached', vertex, name, stage: this.p.label });
        s.stats.cached++;
        s.hits.push(key);
        // Only a changed record is written: a fully cached rebuild stays read-only.
        if (rememberedKey(s.store, identity) !== key) remember(s.store, identity, inputs());
        return rec;
      }
    }
    const parentLabel = s.keyLabels.get(inputs().parent);
    const explain = explainMiss(loadPrevious(s.store, identity), inputs(), { noCache: this.noCache, ...(parentLabel ? { parentLabel } : {}) });
    return s.scheduler.run(this.noCache ? `nocache:${key}` : key, async (signal) => {
      const vertex = s.nextVertex();
      s.keyLabels.set(key, `#${vertex}`);
      const started = Date.now();
      s.emit({ type: 'start', vertex, name, stage: this.p.label, explain });
      s.stats.ran++;
      const log = new StepLog(join(s.logDir, `step-${vertex}.log`), (data) => s.emit({ type: 'log', vertex, stream: 'stdout', data }));
      try {
        const built = await run(log, signal);
        const created = s.created ?? rfc3339(new Date());
        const descriptor = built.descriptor.then((layer) => {
          const rec: CacheRecord = { layer, created };
          s.store.putCacheRecord(key, rec, [layer.digest]);
          return layer;
        });
        s.commits.track(descriptor);
        remember(s.store, identity, inputs());
        s.emit({ type: 'complete', vertex, durationMs: Date.now() - started });
        return { layer: { dir: built.dir, descriptor }, created };
      } catch (e) {
        s.emit({ type: 'error', vertex, message: (e as Error).message });
        throw e;
      } finally {
        await log.close();
      }
    });
  }

  private async workdir(ins: Extract<Instruction, { kind: 'workdir' }>): Promise<void> {
    const path = this.img.workdir;
    if (path === '/') {
      this.img.addHistory(`WORKDIR ${path}`, true);
      return;
    }
    const user = this.img.container.User ?? '';
    const key = vertexKey({ op: 'mkdir', definition: { path, user, ...createdTime(this.s.epoch) }, parents: [this.key] });
    const inputs = () => this.stepInputs(key, `WORKDIR ${path}`, {});
    const layers = this.layers;
    const rec = await this.layerStep(ins, key, inputs, () => mkdirWorkdir(this.s.store, this.s.commits, this.s.stateRoot, layers, path, user, this.s.epoch));
    this.commit(key, rec, `WORKDIR ${path}`);
  }

  private commit(key: string, rec: StepRecord, createdBy: string): void {
    this.layers = [...this.layers, rec.layer];
    this.key = key;
    this.img.created = rec.created;
    this.img.addHistory(createdBy, false);
  }

  private runArgv(ins: RunInstruction): { argv: string[]; script?: HeredocScript } {
    if (ins.heredocs.length === 0) return { argv: this.img.argv(ins.command) };
    if (ins.command.form !== 'shell') throw this.fail(ins, 'E_BUILD_UNSUPPORTED', 'heredocs need the shell form of RUN');
    return heredocRun(ins.command.text, ins.heredocs, this.img.shell);
  }

  private async mounts(ins: RunInstruction): Promise<{ runtime: RuntimeMount[]; keys: MountKey[]; env: string[] }> {
    const runtime: RuntimeMount[] = [];
    const keys: MountKey[] = [];
    const env: string[] = [];
    for (const m of ins.mounts) {
      const target = m.target === undefined ? undefined : posix.resolve(this.img.workdir, m.target);
      switch (m.type) {
        case 'bind': {
          // BuildKit's dispatchRunMounts: the source is path.Join("/", source), inside the context
          // or stage it names (symlinks too): `..` never leaves it.
          const source = posix.join('/', m.source ?? '/');
          const src = await this.mountSource(ins, m, source);
          runtime.push({ type: 'bind', source: src.path, target: target!, readonly: m.readonly, ...(m.readonly ? {} : { discardWrites: true }) });
          keys.push({ type: 'bind', target: target!, source, from: src.key, readonly: m.readonly });
          break;
        }
        case 'cache': {
          // BuildKit's dispatchRunMounts: the default id is the target as written, cleaned (not
          // resolved against WORKDIR), so `target=cache` is one cache in every stage.
          const id = m.id ?? cleanPath(m.target!);
          this.s.cacheMounts.set(id, { id, ...opt(m) });
          // BuildKit: `from=` (a stage, context or image; else an empty dir) and `source=` in it are
          // what a new cache starts with.
          const seed = m.from === undefined ? undefined : (await this.mountSource(ins, m, posix.join('/', m.source ?? '/'))).path;
          // A step run with --no-cache gets a new cache it then drops, as in BuildKit: the kept one is left as it was.
          runtime.push({ type: 'cache', id, target: target!, sharing: m.sharing, readonly: m.readonly, ...opt(m), ...(this.noCache ? { throwAway: true } : {}), ...(seed !== undefined ? { seed } : {}) });
          keys.push({ type: 'cache', id, target: target!, sharing: m.sharing, readonly: m.readonly, ...opt(m) });
          break;
        }
        case 'tmpfs':
          runtime.push({ type: 'tmpfs', target: target!, ...(m.size !== undefined ? { sizeBytes: m.size } : {}) });
          keys.push({ type: 'tmpfs', target: target!, ...(m.size !== undefined ? { size: m.size } : {}) });
          break;
        case 'secret': {
          // BuildKit's dispatchSecret: source= names the secret as id= does; without either, the
          // target's base name does. A relative target is from /, not WORKDIR: the secret is
          // dispatched before other mounts' targets are joined to the working directory.
          const secretTarget = m.target === undefined ? undefined : posix.resolve('/', m.target);
          const id = m.id ?? m.source ?? (secretTarget ? basename(secretTarget) : '');
          if (m.env !== undefined) {
            const value = await this.secretValue(ins, id, m.required);
            if (value !== undefined) env.push(`${m.env}=${value}`);
          }
          if (m.env === undefined || m.target !== undefined) {
            runtime.push({ type: 'secret', id, target: secretTarget ?? `/run/secrets/${posix.basename(id)}`, required: m.required, ...opt(m) });
          }
          keys.push({ type: 'secret', id, ...(secretTarget ? { target: secretTarget } : {}), required: m.required, ...(m.env !== undefined ? { env: m.env } : {}), ...opt(m) });
          break;
        }
        case 'ssh':
          throw this.fail(ins, 'E_BUILD_UNSUPPORTED', 'RUN --mount=type=ssh is not supported by kiln yet');
      }
    }
    return { runtime, keys, env };
  }

  private async secretValue(ins: Instruction, id: string, required: boolean): Promise<string | undefined> {
    const src = this.s.secrets.get(id);
    if (!src) {
      if (required) throw this.fail(ins, 'E_BUILD_SECRET', `secret "${id}" is required but was not given`, `pass it with --secret id=${id},src=FILE or --secret id=${id},env=VAR`);
      return undefined;
    }
    if (src.env !== undefined) return process.env[src.env];
    return src.file === undefined ? undefined : readFile(src.file, 'utf8');
  }

  /**
   * What a bind mount of `source` (absolute, cleaned) binds on the host: in the build context, a
   * stage or an image, resolved inside it. Of a context with ignore rules, the part it shows
   * laid out apart, as BuildKit mounts only what .dockerignore lets through.
   */
  private async mountSource(ins: Instruction, m: { from?: string }, source: string): Promise<{ path: string; key: string }> {
    const { s } = this;
    if (m.from === undefined) {
      if (!s.context) throw this.fail(ins, 'E_BUILD_NO_CONTEXT', 'RUN --mount=type=bind needs a build context, and the Dockerfile came from stdin without one');
      const ctx = s.context;
      const sum = await this.atLine(ins, () => ctx.checksum([source]));
      if (ctx.ignoreFile === undefined) return { path: await resolveInRoot(ctx.root, source), key: sum.digest };
      const rel = ctx.view.resolve(source, true) ?? cleanRel(source);
      const dir = await mkdtemp(s.store.layout.tempPath('bind'));
      this.cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const path = join(dir, 'source');
      layOutVisible(ctx.view, rel, path);
      return { path, key: sum.digest };
    }
    const named = s.namedContexts.get(m.from);
    if (named?.kind === 'dir') return { path: await resolveInRoot(named.path, source), key: `dir:${named.path}` };
    // A named context replaces a stage of the same name.
    const idx = named ? undefined : resolveStageRef(m.from, s.plan.stages);
    let result: StageResult;
    if (typeof idx === 'number') result = await s.stageResult(idx);
    else if (namesScratch(named)) result = scratchResult();
    else result = imageResult(await resolveImage(s, named?.kind === 'image' ? named.ref : m.from, ins));
    const snap: Snapshot = await createSnapshot({ stateRoot: s.stateRoot, lowerDirs: await layerDirs(s.store, result.layers) });
    this.cleanups.push(() => snap.release());
    return { path: await resolveInRoot(snap.rootfs, source), key: result.key };
  }

  /** Where COPY/ADD read from, and the content identity that goes into their key. */
  private async copySource(
    ins: CopyInstruction | AddInstruction,
  ): Promise<{ root: () => Promise<string>; layers?: () => Promise<string[]>; context?: BuildContext; inputs: string[]; files?: ReadonlyMap<string, string>; size?: { bytes: number; files: number }; fetched?: ReadonlyMap<string, Prefetched> }> {
    const { s } = this;
    if (ins.kind === 'copy' && ins.from === undefined && ins.sources.some(isUrlSource)) {
      throw this.fail(ins, 'E_BUILD_COPY_URL', "source can't be a URL for COPY", 'ADD downloads a URL; COPY reads the build context');
    }
    if (ins.kind === 'add' && ins.checksum === undefined && ins.sources.some(isPrefetched)) {
      const { fetched, inputs } = await this.prefetchUrls(ins);
      const rest = await this.copySource({ ...ins, sources: ins.sources.filter((x) => !isPrefetched(x)) });
      return { ...rest, inputs: [...inputs, ...rest.inputs], fetched };
    }
    const from = ins.kind === 'copy' ? ins.from : undefined;
    const local = ins.sources.filter((x) => !isUrlSource(x) && !isGitSource(x));
    let context: BuildContext | undefined = s.context;
    if (from !== undefined) {
      const named = s.namedContexts.get(from);
      if (named?.kind === 'dir') {
        const opened = await openContext(named.path, { store: s.store });
        this.cleanups.push(async () => opened.close());
        context = opened;
      } else {
        // A named context replaces a stage of the same name.
        const idx = named ? undefined : resolveStageRef(from, s.plan.stages);
        if (idx === 'bad-index') throw this.fail(ins, 'E_BUILD_UNKNOWN_STAGE', `invalid stage index ${from}`);
        let result: StageResult;
        if (idx !== undefined) {
          result = await s.stageResult(idx);
        } else {
          const ref = named?.kind === 'image' ? named.ref : from;
          try {
            result = namesScratch(named) ? scratchResult() : imageResult(await resolveImage(s, ref, ins));
          } catch (e) {
            if (!isKilnError(e) || e.code !== 'E_BUILD_BASE_IMAGE') throw e;
            throw this.fail(ins, 'E_BUILD_UNKNOWN_STAGE', `COPY --from=${from}: no stage is named "${from}" and no image "${ref}" is available`, 'name a stage defined in this Dockerfile (FROM ... AS name) or an image in the local store');
          }
        }
        const layers = () => layerDirs(s.store, result.layers);
        const root = async () => {
          const snap = await createSnapshot({ stateRoot: s.stateRoot, lowerDirs: await layers() });
          this.cleanups.push(() => snap.release());
          return snap.rootfs;
        };
        return { root, layers, inputs: [result.key] };
      }
    }
    if (!context) {
      if (local.length > 0) throw this.fail(ins, 'E_BUILD_NO_CONTEXT', `${ins.kind.toUpperCase()} needs a build context, and the Dockerfile came from stdin without one`, 'pass a context directory instead of -');
      return { root: async () => '/', inputs: [] };
    }
    const ctx = context;
    if (local.length === 0) return { root: async () => ctx.root, context: ctx, inputs: [] };
    const sum = await this.atLine(ins, () => ctx.checksum(local, { exclude: ins.exclude, parents: ins.kind === 'copy' && ins.parents }));
    return { root: async () => ctx.root, context: ctx, inputs: [sum.digest], files: sum.files, size: sum.size };
  }

  /**
   * ADD's URLs without --checksum, downloaded before the key is made, as BuildKit's HTTP source
   * does at every build: the key covers what the URL now serves, so a changed file misses.
   */
  private async prefetchUrls(ins: AddInstruction): Promise<{ fetched: Map<string, Prefetched>; inputs: string[] }> {
    const fetched = new Map<string, Prefetched>();
    const inputs: string[] = [];
    for (const url of ins.sources.filter(isPrefetched)) {
      const got = await this.atLine(ins, () => prefetchUrl(url, this.s.store.layout.tempPath('add-url')));
      fetched.set(url, got);
      inputs.push(`${url} ${got.digest}${got.modified === undefined ? '' : ` ${got.modified}`}`);
    }
    return { fetched, inputs };
  }

  private async copy(raw: CopyInstruction | AddInstruction): Promise<void> {
    const { s, img } = this;
    const env = img.vars.expansionEnv();
    const inlineSources = raw.inlineSources.map((f) => (f.expand ? { ...f, data: expandHeredocBody(f.data, env) } : f));
    const ins = { ...raw, inlineSources } as CopyInstruction | AddInstruction;
    const src = await this.copySource(ins);
    const definition = {
      sources: ins.sources,
      inline: inlineSources.map((f) => [f.path, f.data]),
      dest: ins.dest,
      workdir: img.workdir,
      chown: ins.chown,
      chmod: ins.chmod,
      link: ins.link,
      exclude: ins.exclude,
      ...(ins.kind === 'copy' ? { parents: ins.parents, from: ins.from !== undefined } : { checksum: ins.checksum, unpack: ins.unpack, keepGitDir: ins.keepGitDir }),
      ...createdTime(s.epoch),
    };
    // A --link layer does not depend on what is below it, so its key leaves the parent out.
    const key = vertexKey({ op: ins.kind, definition, parents: ins.link ? [] : [this.key], inputs: src.inputs });
    const text = copyHistory(ins);
    const inputs = () => this.stepInputs(key, text, definition, src.files);
    const layers = this.layers;
    const workdir = img.workdir;
    let rec: StepRecord;
    try {
      rec = await this.layerStep(raw, key, inputs, () =>
        this.atLine(raw, () =>
          copyStep({ store: s.store, commits: s.commits, stateRoot: s.stateRoot, layers, ins, sourceRoot: src.root, ...(src.fetched ? { fetched: src.fetched } : {}), ...(src.layers ? { sourceLayers: src.layers } : {}), ...(src.context ? { context: src.context } : {}), ...(src.size ? { sourceSize: src.size } : {}), workdir, ...createdTime(s.epoch) }),
        ),
      );
    } finally {
      for (const f of src.fetched?.values() ?? []) await rm(f.dir, { recursive: true, force: true });
    }
    this.commit(key, rec, `${text} # buildkit`);
  }

  private async run(ins: RunInstruction): Promise<void> {
    const { s, img } = this;
    if (ins.security === 'insecure' && !s.allowInsecure) {
      throw this.fail(ins, 'E_BUILD_ENTITLEMENT', 'RUN --security=insecure needs the security.insecure entitlement', 'pass --allow security.insecure to kiln build if you trust this Dockerfile');
    }
    const { argv, script } = this.runArgv(ins);
    // --network=default is the build's network: none when the build has none (BuildKit).
    const network = ins.network === undefined || ins.network === 'default' ? (s.network === 'none' ? 'none' : 'default') : ins.network;
    const mounts = await this.mounts(ins);
    if (script) mounts.keys.push(scriptMountKey(script));
    const env = img.vars.runEnv();
    const user = img.container.User ?? '';
    const hosts = { ...(s.hostname === BUILD_HOSTNAME ? {} : { hostname: s.hostname }), ...(s.extraHosts.length ? { extraHosts: s.extraHosts.map((h) => `${h.host}:${h.ip}`) } : {}) };
    const key = runKey({ parent: this.key, argv, env, user, workdir: img.workdir, mounts: mounts.keys, network, security: ins.security ?? 'sandbox', ...hosts });
    const inputs = () => this.stepInputs(key, argv.join(' '), { mounts: mounts.keys, network, security: ins.security ?? 'sandbox', ...hosts });
    const layers = this.layers;
    const workdir = img.workdir;
    const label = this.p.label;
    const rec = await this.layerStep(ins, key, inputs, async (log, signal) => {
      s.runsContainers();
      const file = script ? await scriptMount(s.store, script) : undefined;
      const res = await runStep({
        store: s.store,
        commits: s.commits,
        stateRoot: s.stateRoot,
        layers,
        argv,
        env: [...env, ...mounts.env, ...img.vars.proxyEnv()],
        user,
        workdir,
        network: network === 'none' ? 'none' : 'host',
        hostname: s.hostname,
        extraHosts: s.extraHosts,
        mounts: file ? [...mounts.runtime, file.mount] : mounts.runtime,
        secrets: s.secrets,
        security: ins.security ?? 'sandbox',
        log,
        signal,
      })
        .catch((e: unknown) => {
          // A USER the image's passwd or group file lacks is found only now; it is this RUN's error.
          if (isKilnError(e) && e.code === 'E_RUNTIME_USER') throw this.located(ins, e);
          throw e;
        })
        .finally(() => file?.remove());
      if (res.ok) return res.layer;
      const { position, line } = this.position(ins);
      await log.close();
      const tail = res.message ? [...log.tail(), res.message] : log.tail();
      throw new StepFailedError({ stage: label, instruction: ins.original.trim(), exitCode: res.exitCode, tail: tail.slice(-20), logPath: log.path }, position, line);
    });
    this.commit(key, rec, `RUN ${runHistory(argv, img.vars.declaredArgs())} # buildkit`);
  }
}

/**
 * `--build-context NAME=DIR` used by FROM: the directory as the one layer of an image with no
 * config, keyed by its content so an unchanged directory is not packed again.
 */
async function directoryBase(s: BuildSession, dir: string): Promise<StageResult> {
  const ctx = await openContext(dir, { store: s.store });
  try {
    const sum = await ctx.checksum(['.']);
    const key = vertexKey({ op: 'dir', definition: {}, parents: [], inputs: [sum.digest] });
    const base = scratchResult();
    let rec = s.store.getCacheRecord<CacheRecord>(key);
    if (!rec || !(await s.store.hasBlob(rec.layer.digest))) {
      rec = { layer: await packDirectory(s.store, ctx.root), created: s.created ?? rfc3339(new Date()) };
      s.store.putCacheRecord(key, rec, [rec.layer.digest]);
    }
    base.config.history = [{ created: rec.created, created_by: `build context ${dir}`, comment: 'kiln' }];
    return { config: base.config, layers: [rec.layer], key };
  } finally {
    ctx.close();
  }
}

/** BuildKit makes sure PATH is always set: a base image (other than Windows) without one gets the default. */
export function withPath(config: ImageConfig): ImageConfig {
  const env = config.config?.Env ?? [];
  if (config.os === 'windows' || env.some((e) => e.split('=')[0] === 'PATH')) return config;
  return { ...config, config: { ...config.config, Env: [...env, `PATH=${DEFAULT_PATH}`] } };
}

function opt(m: { mode?: number; uid?: number; gid?: number }): { mode?: number; uid?: number; gid?: number } {
  return { ...(m.mode !== undefined ? { mode: m.mode } : {}), ...(m.uid !== undefined ? { uid: m.uid } : {}), ...(m.gid !== undefined ? { gid: m.gid } : {}) };
}

/**
 * BuildKit's dispatchCopy commit message: `COPY --parents --chown=U --chmod=M src... <<EOF dest`
 * (--link, --from, --exclude and --checksum are not shown).
 */
export function copyHistory(ins: CopyInstruction | AddInstruction): string {
  const flags = [
    ...(ins.kind === 'copy' && ins.parents ? ['--parents'] : []),
    ...(ins.chown ? [`--chown=${ins.chown}`] : []),
    ...(ins.chmod ? [`--chmod=${ins.chmod}`] : []),
  ];
  return [ins.kind.toUpperCase(), ...flags, ...ins.sources, ...ins.inlineSources.map((f) => `<<${f.path}`), ins.dest].join(' ');
}

/** BuildKit's runCommandString: `|2 A=1 B=2 /bin/sh -c cmd` when ARGs are in scope. */
export function runHistory(argv: readonly string[], args: readonly { key: string; value: string | undefined }[]): string {
  const pairs = args.map((a) => `${a.key}=${a.value ?? ''}`);
  return [...(pairs.length > 0 ? [`|${pairs.length}`, ...pairs] : []), ...argv].join(' ');
}

export function buildStage(s: BuildSession, p: PlannedStage): Promise<StageResult> {
  return new StageBuilder(s, p).build();
}

/** SOURCE_DATE_EPOCH as part of a step's definition: it changes the files made, so it is part of the key (absent, keys stay as they were). */
function createdTime(epoch: number | undefined): { createdTime?: number } {
  return epoch === undefined ? {} : { createdTime: epoch };
}
