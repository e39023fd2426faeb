/**
 * kiln's own build protocol (`/kiln/v1/`), used by `kiln --host ... build`: the client lists its
 * context by content digest, the daemon answers which contents it lacks, then the client sends
 * only those and reads the build's vertex events back, so it renders progress and errors exactly
 * as an embedded build. See docs/api.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { BuildCache } from '../../cache/index.js';
import { checkBuildPlatforms, OCI_LAYOUT_SCHEME, type RegistryOptionsFor } from '../../oci/index.js';
import { parseExtraHost, type ExtraHost, type SecretSource } from '../../runtime/index.js';
import { build, describeWarning, layerPackingFor, newBuildId, subscribe, type NamedContext } from '../../solver/index.js';
import type { DaemonContext } from '../context.js';
import { ApiError, badRequest, clientGoneSignal, errorDetail, notFound, readJson, sendJson } from '../http.js';
import { registryConfigOptions } from '../registry-auth.js';
import type { Handler } from '../router.js';
import { gcToBudgetLogged } from './build.js';
import { cacheSpecs, exportBuildCache, exportImageOutputs, imageOutputLayers, openBuildCache, type ImageOutput } from './build-registry.js';
import { ContextCache, validEntries, validRoot, type ContextEntry, type ContextRoot } from './context-cache.js';

/** Build settings the client sends with its context list. */
export interface RemoteBuildOptions {
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  noCacheFilter?: string[];
  pull?: boolean;
  labels?: Record<string, string>;
  network?: 'default' | 'host' | 'none';
  /** `--add-host HOST:IP`, as the CLI takes them. */
  extraHosts?: string[];
  /** `--platform` values: the daemon builds for its own platform only, and refuses others. */
  platforms?: string[];
  jobs?: number;
  /** What `--explain` compares with across builds: the client's context and Dockerfile (see BuildOptions.explainIdentity). */
  explainIdentity?: string;
  /** `-o type=image[,name=..][,push=true]` and `--push`; other outputs the client exports itself from the built image. */
  imageOutputs?: ImageOutput[];
  /** `--cache-from` and `--cache-to`, as the CLI takes them (registry and inline only). */
  cacheFrom?: string[];
  cacheTo?: string[];
  /** `--allow security.insecure`; the daemon must have been started granting it. */
  allowInsecure?: boolean;
  /** `--build-context NAME=docker-image://REF`, by name; directories come in the check's `contexts`. */
  imageContexts?: Record<string, string>;
}

/** A `--build-context NAME=DIR`: listed and uploaded like the main context. */
interface NamedDirContext {
  entries: ContextEntry[];
  root: ContextRoot | undefined;
}

interface Session {
  entries: ContextEntry[];
  dockerfile: string;
  dockerfileName: string;
  options: RemoteBuildOptions;
  /** `--cache-from` and `--cache-to`, parsed (and refused) when the context is checked. */
  caches: ReturnType<typeof cacheSpecs>;
  root: ContextRoot | undefined;
  contexts: Map<string, NamedDirContext>;
  /** `--secret` values: held in memory for this one build, never written to the store or logged. */
  secrets: Map<string, SecretSource>;
  /** The client's registry credentials, from the check's `X-Registry-Config`. */
  registry: RegistryOptionsFor;
  /** `extraHosts`, parsed. */
  extraHosts: ExtraHost[];
  missing: Set<string>;
  timer: NodeJS.Timeout;
}

/** A session the client never builds is dropped after this long. */
const SESSION_TTL_MS = 10 * 60_000;
/** An entry list for a context of a few hundred thousand files. */
const CHECK_BODY_LIMIT = 128 << 20;

const sessions = new Map<string, Session>();

function takeSession(id: string | null): Session {
  const s = id === null ? undefined : sessions.get(id);
  if (!s) throw notFound(`no build session "${id ?? ''}": it expired or was used; check the context again`);
  sessions.delete(id!);
  clearTimeout(s.timer);
  return s;
}

function validSecrets(value: unknown): Map<string, SecretSource> {
  const out = new Map<string, SecretSource>();
  if (value === undefined) return out;
  if (!Array.isArray(value)) throw badRequest('secrets must be an array');
  for (const raw of value) {
    const s = raw as { id?: unknown; value?: unknown };
    if (typeof s !== 'object' || s === null || typeof s.id !== 'string' || s.id === '' || typeof s.value !== 'string') throw badRequest('each secret needs an id and a base64 value');
    out.set(s.id, { id: s.id, value: Buffer.from(s.value, 'base64') });
  }
  return out;
}

function validExtraHosts(value: unknown): ExtraHost[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw badRequest('extraHosts must be an array of HOST:IP strings');
  try {
    return (value as string[]).map(parseExtraHost);
  } catch (e) {
    throw badRequest((e as Error).message);
  }
}

function validContexts(value: unknown): Map<string, NamedDirContext> {
  const out = new Map<string, NamedDirContext>();
  if (value === undefined) return out;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('contexts must be an object of named contexts');
  for (const [name, raw] of Object.entries(value)) {
    const c = raw as { entries?: unknown; root?: unknown };
    out.set(name, { entries: validEntries(c?.entries ?? []), root: validRoot(c?.root) });
  }
  return out;
}

export const checkContext: Handler = async (ctx, { req, res }) => {
  const body = await readJson<{ entries?: unknown; root?: unknown; dockerfile?: unknown; dockerfileName?: unknown; options?: unknown; contexts?: unknown; secrets?: unknown }>(req, CHECK_BODY_LIMIT);
  const entries = validEntries(body.entries ?? []);
  if (typeof body.dockerfile !== 'string') throw badRequest('dockerfile (the Dockerfile text) is required');
  const options = (typeof body.options === 'object' && body.options !== null ? body.options : {}) as RemoteBuildOptions;
  if (options.allowInsecure && !ctx.allowInsecure) {
    throw new ApiError(403, 'E_BUILD_ENTITLEMENT', 'this kiln daemon does not grant the security.insecure entitlement', {
      hint: 'start it with `kiln serve --allow-insecure-entitlement security.insecure`, or build without --allow',
    });
  }
  const caches = cacheSpecs(options.cacheFrom, options.cacheTo);
  // A layout path would be read on the daemon's host, not the client's.
  for (const [name, ref] of Object.entries(options.imageContexts ?? {})) {
    if (typeof ref !== 'string' || ref.startsWith(OCI_LAYOUT_SCHEME)) throw badRequest(`imageContexts.${name} must be an image reference (oci-layout:// is read on the client's side)`);
  }
  // Checked now, not after a build that would then fail to push.
  for (const o of options.imageOutputs ?? []) imageOutputLayers(o);
  const extraHosts = validExtraHosts(options.extraHosts);
  try {
    checkBuildPlatforms(Array.isArray(options.platforms) ? options.platforms.map(String) : []);
  } catch (e) {
    throw badRequest((e as Error).message);
  }
  const contexts = validContexts(body.contexts);
  const secrets = validSecrets(body.secrets);
  const registry = await registryConfigOptions(ctx.root, req);
  const cache = new ContextCache(ctx.root);
  const files = [entries, ...[...contexts.values()].map((c) => c.entries)].flatMap((list) => list.flatMap((e) => (e.type === 'file' ? [e.digest!] : [])));
  const missing = await cache.missing(files);
  const id = randomBytes(16).toString('hex');
  const timer = setTimeout(() => sessions.delete(id), SESSION_TTL_MS).unref();
  sessions.set(id, {
    entries,
    dockerfile: body.dockerfile,
    dockerfileName: typeof body.dockerfileName === 'string' ? body.dockerfileName : 'Dockerfile',
    options,
    caches,
    root: validRoot(body.root),
    contexts,
    secrets,
    registry,
    extraHosts,
    missing: new Set(missing),
    timer,
  });
  sendJson(res, 200, { session: id, missing });
};

/** One JSON object per line; the status is fixed at 200 by the first. */
function lineWriter(res: ServerResponse): (obj: unknown) => void {
  return (obj) => {
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    if (!res.writableEnded) res.write(`${JSON.stringify(obj)}\n`);
  };
}

export const buildFromSession: Handler = async (ctx, { req, res, query }) => {
  const session = takeSession(query.get('session'));
  const cache = new ContextCache(ctx.root);
  const received = await cache.receive(req, session.missing);
  const stillMissing = await cache.missing(session.missing);
  if (stillMissing.length > 0) throw badRequest(`the context contents ${stillMissing.join(', ')} were not sent`);
  ctx.log.log('info', 'build context received', { files: received.files, bytes: received.bytes, entries: session.entries.length });
  const send = lineWriter(res);
  send({ context: received });
  const tmp = await mkdtemp(join(ctx.root, 'tmp', `${process.pid}.kiln-context-`));
  try {
    const contextDir = join(tmp, 'context');
    await mkdir(contextDir);
    await cache.materialize(session.entries, contextDir, session.root);
    const namedContexts = new Map<string, NamedContext>(Object.entries(session.options.imageContexts ?? {}).map(([name, ref]) => [name, { kind: 'image', ref }]));
    let n = 0;
    for (const [name, c] of session.contexts) {
      const dir = join(tmp, `named-${n++}`);
      await mkdir(dir);
      await cache.materialize(c.entries, dir, c.root);
      namedContexts.set(name, { kind: 'dir', path: dir });
    }
    // Outside the context, so a Dockerfile given with -f from elsewhere is not copied by COPY . .
    const dockerfilePath = join(tmp, 'Dockerfile');
    await writeFile(dockerfilePath, session.dockerfile);
    await runBuild(ctx, session, { contextDir, dockerfilePath, namedContexts }, send, clientGoneSignal(res));
    res.end();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
};

interface BuildInputs {
  contextDir: string;
  dockerfilePath: string;
  namedContexts: Map<string, NamedContext>;
}

/** Imports caches, builds, pushes and exports caches, streaming events and the lines an embedded build prints; then the GC. */
async function runBuild(ctx: DaemonContext, session: Session, inputs: BuildInputs, send: (obj: unknown) => void, clientGone: AbortSignal): Promise<void> {
  const buildId = newBuildId();
  const off = subscribe(buildId, (event) => send({ event }));
  const o = session.options;
  const say = (line: string) => send({ message: line });
  const warn = (warning: string) => send({ warning });
  ctx.log.log('info', 'build started', { build: buildId, tags: (o.tags ?? []).join(',') });
  let hits: string[] | undefined;
  const held: { cache?: BuildCache } = {};
  try {
    await ctx.work.run(async (signal) => {
      const specs = session.caches;
      const buildCache = await openBuildCache(specs, session.registry, warn);
      if (buildCache) held.cache = buildCache;
      const result = await build({
        stateRoot: ctx.root,
        // The client's -o archives are fetched after the build, so only its pushes count here.
        layerPacking: layerPackingFor((o.imageOutputs ?? []).map((io) => ({ type: 'image' as const, push: io.push, layers: imageOutputLayers(io) }))),
        store: ctx.store,
        dockerfile: session.dockerfile,
        dockerfileName: session.dockerfileName,
        dockerfilePath: inputs.dockerfilePath,
        contextDir: inputs.contextDir,
        buildArgs: new Map(Object.entries(o.buildArgs ?? {})),
        ...(o.target ? { target: o.target } : {}),
        noCache: Boolean(o.noCache),
        noCacheFilter: o.noCacheFilter ?? [],
        pull: Boolean(o.pull),
        pullOptions: session.registry,
        labels: o.labels ?? {},
        tags: o.tags ?? [],
        secrets: session.secrets,
        allowInsecure: Boolean(o.allowInsecure),
        namedContexts: inputs.namedContexts,
        ...(o.network ? { network: o.network } : {}),
        extraHosts: session.extraHosts,
        ...(o.jobs ? { jobs: o.jobs } : {}),
        ...(o.explainIdentity ? { explainIdentity: o.explainIdentity } : {}),
        ...(buildCache ? { cache: buildCache } : {}),
        signal,
        buildId,
        sharedSteps: ctx.sharedSteps,
      });
      hits = result.cacheHits;
      const [pushed] = await exportImageOutputs(ctx.store, result, o.imageOutputs ?? [], session.registry, say);
      if (buildCache) await exportBuildCache(buildCache, result, specs.to, session.registry, say, warn);
      send({
        result: {
          configDigest: result.configDigest,
          manifestDigest: result.manifestDigest,
          manifestMediaType: result.manifest.mediaType,
          ...(pushed ? { pushed: { manifestDigest: pushed.manifestDigest, manifestMediaType: pushed.manifestMediaType } } : {}),
          tags: result.tags,
          stats: result.stats,
          checks: result.warnings.map(describeWarning),
        },
      });
      ctx.log.log('info', 'build done', { build: buildId, id: result.configDigest, ran: result.stats.ran, cached: result.stats.cached });
    }, clientGone);
  } catch (err) {
    ctx.log.log('warn', 'build failed', { build: buildId, error: (err as Error).message });
    send({ error: errorDetail(err) });
  } finally {
    off();
    for (const w of held.cache?.warnings ?? []) warn(w);
    await held.cache?.close();
    session.secrets.clear();
  }
  if (hits) await gcToBudgetLogged(ctx, hits);
}
