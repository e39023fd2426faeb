import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import { asNoSpaceError } from '../common/errors.js';
import { openStore, type BuildCache, type CacheMountUse, type Store } from '../cache/index.js';
import type { Warning } from '../grammar/index.js';
import { buildManifest, hostPlatform, MediaType, normalizeReference, omitEmptyConfig, rfc3339, type ImageConfig, type ImageManifest, type LayerDescriptor, type RegistryOptionsFor } from '../oci/index.js';
import { cleanupLeftoversNow, warmUpRuntime, type ExtraHost, type SecretSource } from '../runtime/index.js';
import { openContext } from './context/index.js';
import { automaticArgs, buildWarnings, checkArg, checkViolation, parseRemembered, planBuild, userBuildArgs } from './frontend/index.js';
import { emitter, type BuildSession, type NamedContext, type StageResult } from './session.js';
import { Scheduler, type SharedSteps } from './scheduler.js';
import { buildStage } from './stage-builder.js';
import { committedLayers, LayerCommits, type LayerPacking } from './layers.js';
import { BuildError } from './errors.js';
import { BUILD_HOSTNAME } from './run-step.js';

export interface BuildOptions {
  /** State root (store, logs, runtime state). */
  stateRoot: string;
  /** How the layers it makes are stored (solver/layers.ts): plain, or gzip when the image is about to be pushed or exported gzipped. */
  layerPacking?: LayerPacking;
  /** The Dockerfile's text. */
  dockerfile: string;
  /** Its name in messages (`Dockerfile`, `-`). */
  dockerfileName: string;
  /** Its path on disk, for `<Dockerfile>.dockerignore`; absent for stdin. */
  dockerfilePath?: string;
  /** The build context directory; absent when building from stdin with no context. */
  contextDir?: string;
  buildArgs?: ReadonlyMap<string, string>;
  target?: string;
  noCache?: boolean;
  /** Stages (by name or index) to build without the cache. */
  noCacheFilter?: readonly string[];
  pull?: boolean;
  /**
   * Registry options for pulling base images, by registry host (a daemon's, with its client's
   * credentials); default: the registries' credentials in the docker config.
   */
  pullOptions?: RegistryOptionsFor;
  /** `--label`: added to the final image's config. */
  labels?: Readonly<Record<string, string>>;
  secrets?: ReadonlyMap<string, SecretSource>;
  /** `--allow security.insecure`: RUN --security=insecure may run, unconfined. */
  allowInsecure?: boolean;
  network?: 'default' | 'host' | 'none';
  /** `--add-host`: lines for RUN containers' /etc/hosts (part of every RUN's key). */
  extraHosts?: readonly ExtraHost[];
  /** Steps running at once; default max(4, cores): RUN steps mostly wait on I/O and sleeps. */
  jobs?: number;
  tags?: readonly string[];
  namedContexts?: ReadonlyMap<string, NamedContext>;
  signal?: AbortSignal;
  /** Id used on the progress channel; subscribe with it before calling build. */
  buildId?: string;
  /** An open store to use (the CLI opens one per process); opened and closed here otherwise. */
  store?: Store;
  /** `--cache-from`/`--cache-to`: imported records count as hits, and the records used are noted for export. */
  cache?: BuildCache;
  /** Shared by concurrent builds in one process (the daemon), so their identical steps run once. */
  sharedSteps?: SharedSteps;
  /**
   * Which earlier builds `--explain` compares with; default the context and Dockerfile paths. A
   * daemon gives its client's, since it builds each upload in a fresh directory.
   */
  explainIdentity?: string;
}

export interface BuildResult {
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
  layers: LayerDescriptor[];
  /** Normalised names the image was tagged with. */
  tags: string[];
  /** Steps that ran and steps reused from the cache. */
  stats: { ran: number; cached: number };
  /** `RUN --mount=type=cache` mounts the steps used. */
  cacheMounts: CacheMountUse[];
  /** Cache keys of the steps reused from the cache. */
  cacheHits: string[];
  /** What the Dockerfile's checks found for this build (frontend/check.ts buildWarnings; `# check=skip` left out), to print as BuildKit does. */
  warnings: Warning[];
}

export function newBuildId(): string {
  return randomBytes(6).toString('hex');
}

/** Builds a Dockerfile into an image in the store, tagging it with every `tags` name. */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  // What killed kiln processes left mounted or running goes now, not only once a step next needs
  // a snapshot (a fully cached rebuild never does). Best effort: without runc or root nothing of
  // kiln's can be running, and a step that needs the runtime reports why it cannot have it.
  await cleanupLeftoversNow(opts.stateRoot).catch(() => undefined);
  const store = opts.store ?? (await openStore(opts.stateRoot));
  try {
    return await buildWith(store, opts);
  } catch (e) {
    throw asNoSpaceError(e, opts.stateRoot) ?? e;
  } finally {
    if (!opts.store) store.close();
  }
}

async function buildWith(local: Store, opts: BuildOptions): Promise<BuildResult> {
  const store = opts.cache ? opts.cache.attach(local) : local;
  // A bad -t fails before anything runs.
  for (const t of opts.tags ?? []) normalizeReference(t);
  // The sealed copy of runc takes ~15 ms of the other core, idle while the Dockerfile is parsed;
  // started after the parse, it slowed the steps' first reads. So with --no-cache, where every RUN
  // runs, count RUN lines before parsing (a guess: a heredoc body's line could count); with one
  // RUN it would rarely pay for itself. Otherwise the second RUN that runs starts it: a rebuild
  // that runs one RUN, or none, starts no perl.
  if (opts.noCache && (opts.dockerfile.match(/^\s*run\b/gim)?.length ?? 0) > 1) warmUpRuntime();
  let runsStarted = 0;
  const check = checkArg(opts.buildArgs);
  const parsed = parseRemembered(local, opts.dockerfile, { file: opts.dockerfileName, ...(check ? { check } : {}) });
  const buildArgs = userBuildArgs(opts.buildArgs ?? new Map());
  const hostname = sandboxHostname(opts.buildArgs);
  const platform = hostPlatform();
  const plan = planBuild(parsed, {
    buildArgs,
    automaticArgs: automaticArgs(platform),
    source: opts.dockerfile,
    namedContexts: new Set(opts.namedContexts?.keys()),
    ...(opts.target !== undefined ? { target: opts.target } : {}),
  });
  const epoch = sourceDateEpoch(buildArgs, plan.globals);
  const warnings = buildWarnings(parsed, plan);
  const violation = checkViolation(check ?? parsed.directives.check, warnings, opts.dockerfile);
  if (violation) throw violation;
  const id = opts.buildId ?? newBuildId();
  const scheduler = new Scheduler({ jobs: opts.jobs ?? Math.max(4, availableParallelism()), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.sharedSteps ? { shared: opts.sharedSteps } : {}) });
  const context = opts.contextDir === undefined ? undefined : await openContext(opts.contextDir, { store, ...(opts.dockerfilePath ? { dockerfilePath: opts.dockerfilePath } : {}) });
  const logDir = join(opts.stateRoot, 'logs', 'builds', id);
  let vertex = 0;
  const results = new Map<number, Promise<StageResult>>();
  const session: BuildSession = {
    id,
    stateRoot: opts.stateRoot,
    store,
    plan,
    scheduler,
    commits: new LayerCommits(store, (e) => scheduler.fail(e), opts.layerPacking),
    buildArgs,
    noCache: opts.noCache ?? false,
    noCacheFilter: new Set((opts.noCacheFilter ?? []).map((s) => s.toLowerCase())),
    pull: opts.pull ?? false,
    pullOptions: opts.pullOptions,
    network: opts.network === 'none' ? 'none' : 'host',
    hostname,
    extraHosts: opts.extraHosts ?? [],
    secrets: opts.secrets ?? new Map(),
    allowInsecure: opts.allowInsecure ?? false,
    namedContexts: opts.namedContexts ?? new Map(),
    context,
    identity: opts.explainIdentity ?? [opts.contextDir ? resolve(opts.contextDir) : '-', opts.dockerfilePath ? resolve(opts.dockerfilePath) : opts.dockerfileName].join('\0'),
    created: epoch === undefined ? undefined : rfc3339(new Date(epoch * 1000)),
    epoch,
    logDir,
    keyLabels: new Map(),
    stageResult: (index) => {
      let r = results.get(index);
      if (!r) {
        r = buildStage(session, plan.stages[index]!);
        // A stage nobody awaits yet must not crash the process; the scheduler records the failure.
        r.catch((e: unknown) => scheduler.fail(e));
        results.set(index, r);
      }
      return r;
    },
    nextVertex: () => ++vertex,
    emit: emitter(id),
    stats: { ran: 0, cached: 0 },
    hits: [],
    cacheMounts: new Map(),
    runsContainers: () => {
      if (++runsStarted === 2) warmUpRuntime();
    },
  };
  try {
    // Every needed stage starts now, so independent stages run side by side.
    for (const i of plan.order) void session.stageResult(i);
    let final: StageResult;
    let layers: LayerDescriptor[];
    try {
      final = await session.stageResult(plan.target);
      await Promise.all(plan.order.map((i) => session.stageResult(i)));
      context?.saveStats();
      await session.commits.settle();
      layers = await committedLayers(final.layers);
    } catch (e) {
      // Every stage stops at its next step once the scheduler is aborted; wait for that, so
      // nothing still uses the store or a snapshot after the build has returned.
      scheduler.fail(e);
      await Promise.allSettled([...results.values()]);
      await session.commits.settle().catch(() => undefined);
      await session.commits.removed().catch(() => undefined);
      throw scheduler.firstError ?? e;
    }
    await opts.cache?.fetchLayers(layers);
    const result = { ...(await writeImage(store, final.config, layers, opts, session.stats)), cacheMounts: [...session.cacheMounts.values()], cacheHits: session.hits, warnings };
    // Logs of a build that succeeded are of no further use; a failed build's stay for the user.
    await Promise.all([rm(logDir, { recursive: true, force: true }), session.commits.removed()]);
    return result;
  } finally {
    context?.close();
  }
}

/** RUN containers' host name: BUILDKIT_SANDBOX_HOSTNAME, which has to be one (RFC 1123), else BuildKit's. */
function sandboxHostname(buildArgs: ReadonlyMap<string, string> | undefined): string {
  const name = buildArgs?.get('BUILDKIT_SANDBOX_HOSTNAME');
  if (!name) return BUILD_HOSTNAME;
  if (name.length > 63 || !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/.test(name)) {
    throw new BuildError('E_BUILD_OPTION', `invalid BUILDKIT_SANDBOX_HOSTNAME "${name}": not a host name`, { hint: 'letters, digits and inner hyphens, at most 63' });
  }
  return name;
}

/**
 * The build's SOURCE_DATE_EPOCH, in seconds: `--build-arg SOURCE_DATE_EPOCH` (the CLI passes the
 * environment's there, as docker buildx does), else this process's environment, else the
 * Dockerfile's global `ARG SOURCE_DATE_EPOCH=...` (BuildKit's toDispatchState getBuildArgValue
 * reads the build args, then the global ARGs, a non-empty value).
 */
function sourceDateEpoch(buildArgs: ReadonlyMap<string, string>, globals: ReadonlyMap<string, string | undefined>): number | undefined {
  const v = buildArgs.get('SOURCE_DATE_EPOCH') ?? process.env.SOURCE_DATE_EPOCH ?? (globals.get('SOURCE_DATE_EPOCH') || undefined);
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new BuildError('E_BUILD_OPTION', `invalid SOURCE_DATE_EPOCH "${v}": not a number of seconds since 1970`, { hint: 'give whole seconds, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)' });
  return Number(v);
}

async function writeImage(store: Store, finalConfig: ImageConfig, layers: LayerDescriptor[], opts: BuildOptions, stats: BuildResult['stats']): Promise<Omit<BuildResult, 'cacheMounts' | 'cacheHits' | 'warnings'>> {
  let config: ImageConfig = Object.assign(structuredClone(finalConfig), opts.cache?.configFields(layers));
  config.created = finalConfig.history?.at(-1)?.created ?? config.created ?? rfc3339(new Date());
  if (opts.labels && Object.keys(opts.labels).length > 0) config.config = { ...config.config, Labels: { ...(config.config?.Labels ?? {}), ...opts.labels } };
  config.rootfs = { type: 'layers', diff_ids: layers.map((l) => l.diffID) };
  config = omitEmptyConfig(config);
  const c = await store.writeJson(config, MediaType.ociConfig);
  const manifest = buildManifest(
    { mediaType: MediaType.ociConfig, ...c },
    layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  );
  const m = await store.writeJson(manifest, MediaType.ociManifest);
  const tags = store.recordImage(m.digest, manifest, config, opts.tags ?? []);
  return { manifestDigest: m.digest, manifest, configDigest: c.digest, config, layers, tags, stats };
}
