/** `POST /build` (the classic builder protocol: a tar context in the body) and `POST /build/prune`. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { maintainAfterBuild, parseSize } from '../../cache/index.js';
import { KilnError } from '../../common/errors.js';
import { applyLayer } from '../../oci/index.js';
import { build, createRenderer, newBuildId, subscribe } from '../../solver/index.js';
import { badRequest, byteLimit, clientGoneSignal, queryBool, queryJson, sendJson } from '../http.js';
import { JsonStream } from '../json-stream.js';
import { registryConfigOptions } from '../registry-auth.js';
import type { DaemonContext } from '../context.js';
import type { Handler } from '../router.js';
import { pruneDaemon } from './kiln-store.js';

/** Largest build context accepted (it is extracted to disk as it arrives, never held in memory). */
const CONTEXT_LIMIT = 64 * 2 ** 30;

function stringMap(value: Record<string, unknown>, what: string): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(`${what} must be a JSON object`);
  // A null value means "from the client's environment", which the client has already resolved or left out.
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out.set(k, v);
  return out;
}

export const buildImage: Handler = async (ctx, { req, res, query }) => {
  if (query.get('remote')) throw badRequest('kiln does not build from a remote context (git or URL) through the API yet');
  const dockerfileName = query.get('dockerfile') || 'Dockerfile';
  const rel = normalize(dockerfileName);
  if (rel.startsWith('..') || rel.startsWith('/')) throw badRequest(`dockerfile "${dockerfileName}" must be a path inside the build context`);
  const buildArgs = stringMap(queryJson(query, 'buildargs', {}), 'buildargs');
  const labels = Object.fromEntries(stringMap(queryJson(query, 'labels', {}), 'labels'));
  const tags = query.getAll('t').filter((t) => t !== '');
  const quiet = queryBool(query, 'q');
  // The base images' registries see the client's credentials (docker sends them all), never the daemon's.
  const pullOptions = await registryConfigOptions(ctx.root, req);
  const contextDir = await mkdtemp(join(ctx.root, 'tmp', `${process.pid}.context-`));
  const out = new JsonStream(res);
  try {
    await applyLayer(req.pipe(byteLimit(CONTEXT_LIMIT)), contextDir).catch((cause: unknown) => {
      if (cause instanceof KilnError && cause.code === 'E_API_BODY_TOO_LARGE') throw cause;
      throw badRequest(`the build context is not a valid tar: ${(cause as Error).message}`, { cause });
    });
    const dockerfilePath = join(contextDir, rel);
    const dockerfile = await readFile(dockerfilePath, 'utf8').catch((cause: unknown) => {
      throw badRequest(`Cannot locate specified Dockerfile: ${dockerfileName}`, { cause });
    });
    const buildId = newBuildId();
    const renderer = createRenderer(quiet ? 'quiet' : 'plain', { write: (s) => out.stream(s), explain: false, isTTY: false, ci: true });
    const off = subscribe(buildId, (ev) => renderer.onEvent(ev));
    const clientGone = clientGoneSignal(res);
    ctx.log.log('info', 'build started', { build: buildId, tags: tags.join(',') });
    let hits: string[] | undefined;
    try {
      const result = await ctx.work.run(
        (signal) =>
          build({
            stateRoot: ctx.root,
            store: ctx.store,
            dockerfile,
            dockerfileName,
            dockerfilePath,
            contextDir,
            buildArgs,
            ...(query.get('target') ? { target: query.get('target')! } : {}),
            noCache: queryBool(query, 'nocache'),
            pull: queryBool(query, 'pull'),
            labels,
            tags,
            pullOptions,
            signal,
            buildId,
            sharedSteps: ctx.sharedSteps,
          }),
        clientGone,
      );
      renderer.finish();
      hits = result.cacheHits;
      out.aux({ ID: result.configDigest });
      // Docker's quiet build prints its stream, which is then only the id.
      if (quiet) out.stream(`${result.configDigest}\n`);
      else {
        out.stream(`Successfully built ${result.configDigest.slice(7, 19)}\n`);
        for (const t of tags) out.stream(`Successfully tagged ${t}\n`);
      }
      ctx.log.log('info', 'build done', { build: buildId, id: result.configDigest, ran: result.stats.ran, cached: result.stats.cached });
    } catch (err) {
      renderer.finish();
      ctx.log.log('warn', 'build failed', { build: buildId, error: (err as Error).message });
      out.error(err);
    } finally {
      off();
    }
    out.end();
    if (hits) await gcToBudgetLogged(ctx, hits);
  } finally {
    await rm(contextDir, { recursive: true, force: true });
  }
};

/** As after a CLI build: the store is kept within KILN_GC_BUDGET; the client has its answer already. */
export async function gcToBudgetLogged(ctx: DaemonContext, hits: string[] = []): Promise<void> {
  try {
    const gc = await maintainAfterBuild(ctx.store, hits);
    if (gc) ctx.log.log('info', 'gc to budget', { freed: gc.freedBytes, records: gc.removedRecords });
  } catch (err) {
    ctx.log.log('warn', 'gc after build failed', { error: (err as Error).message });
  }
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Docker's `until` filter: a Go duration (`24h`, `1h30m`). */
function untilMs(value: string): number {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) throw badRequest(`invalid until filter "${value}": use a duration such as 24h`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
}

export const pruneCache: Handler = async (ctx, { res, query }) => {
  const filters = queryJson<Record<string, string[] | Record<string, boolean>>>(query, 'filters', {});
  let olderThanMs: number | undefined;
  for (const [key, value] of Object.entries(filters)) {
    const values = Array.isArray(value) ? value : Object.keys(value);
    if (key !== 'until') throw badRequest(`kiln does not implement the build cache filter "${key}"; only until is supported`);
    if (values[0] !== undefined) olderThanMs = untilMs(values[0]);
  }
  const keep = query.get('keep-storage') ?? query.get('reserved-space');
  const keepStorage = keep ? parseSize(keep) : undefined;
  if (keep && keepStorage === undefined) throw badRequest(`invalid keep-storage "${keep}"`);
  const r = await pruneDaemon(ctx, { all: queryBool(query, 'all'), ...(keepStorage ? { keepStorage } : {}), ...(olderThanMs !== undefined ? { olderThanMs } : {}) });
  sendJson(res, 200, { CachesDeleted: [], SpaceReclaimed: r.freedBytes });
};
