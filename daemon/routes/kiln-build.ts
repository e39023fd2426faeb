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
import { build, newBuildId, subscribe } from '../../solver/index.js';
import { badRequest, clientGoneSignal, errorDetail, notFound, readJson, sendJson } from '../http.js';
import type { Handler } from '../router.js';
import { gcToBudgetLogged } from './build.js';
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
  jobs?: number;
}

interface Session {
  entries: ContextEntry[];
  dockerfile: string;
  dockerfileName: string;
  options: RemoteBuildOptions;
  root: ContextRoot | undefined;
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

export const checkContext: Handler = async (ctx, { req, res }) => {
  const body = await readJson<{ entries?: unknown; root?: unknown; dockerfile?: unknown; dockerfileName?: unknown; options?: unknown }>(req, CHECK_BODY_LIMIT);
  const entries = validEntries(body.entries ?? []);
  if (typeof body.dockerfile !== 'string') throw badRequest('dockerfile (the Dockerfile text) is required');
  const options = (typeof body.options === 'object' && body.options !== null ? body.options : {}) as RemoteBuildOptions;
  const cache = new ContextCache(ctx.root);
  const missing = await cache.missing(entries.flatMap((e) => (e.type === 'file' ? [e.digest!] : [])));
  const id = randomBytes(16).toString('hex');
  const timer = setTimeout(() => sessions.delete(id), SESSION_TTL_MS).unref();
  sessions.set(id, {
    entries,
    dockerfile: body.dockerfile,
    dockerfileName: typeof body.dockerfileName === 'string' ? body.dockerfileName : 'Dockerfile',
    options,
    root: validRoot(body.root),
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
    // Outside the context, so a Dockerfile given with -f from elsewhere is not copied by COPY . .
    const dockerfilePath = join(tmp, 'Dockerfile');
    await writeFile(dockerfilePath, session.dockerfile);
    const buildId = newBuildId();
    const off = subscribe(buildId, (event) => send({ event }));
    const clientGone = clientGoneSignal(res);
    const o = session.options;
    ctx.log.log('info', 'build started', { build: buildId, tags: (o.tags ?? []).join(',') });
    let hits: string[] | undefined;
    try {
      const result = await ctx.work.run(
        (signal) =>
          build({
            stateRoot: ctx.root,
            store: ctx.store,
            dockerfile: session.dockerfile,
            dockerfileName: session.dockerfileName,
            dockerfilePath,
            contextDir,
            buildArgs: new Map(Object.entries(o.buildArgs ?? {})),
            ...(o.target ? { target: o.target } : {}),
            noCache: Boolean(o.noCache),
            noCacheFilter: o.noCacheFilter ?? [],
            pull: Boolean(o.pull),
            labels: o.labels ?? {},
            tags: o.tags ?? [],
            ...(o.network ? { network: o.network } : {}),
            ...(o.jobs ? { jobs: o.jobs } : {}),
            signal,
            buildId,
            sharedSteps: ctx.sharedSteps,
          }),
        clientGone,
      );
      hits = result.cacheHits;
      send({
        result: {
          configDigest: result.configDigest,
          manifestDigest: result.manifestDigest,
          manifestMediaType: result.manifest.mediaType,
          tags: result.tags,
          stats: result.stats,
        },
      });
      ctx.log.log('info', 'build done', { build: buildId, id: result.configDigest, ran: result.stats.ran, cached: result.stats.cached });
    } catch (err) {
      ctx.log.log('warn', 'build failed', { build: buildId, error: (err as Error).message });
      send({ error: errorDetail(err) });
    } finally {
      off();
    }
    res.end();
    if (hits) await gcToBudgetLogged(ctx, hits);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
};
