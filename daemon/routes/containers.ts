/** Containers: enough for `docker run [--rm] [-i] [-t] [-e] [-v]`, `ps`, `logs`, `stop`, `kill`, `rm`. */
import { constants } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { frame, FrameReader, type Container, type CreateBody, type StreamType } from '../containers/index.js';
import { badRequest, queryBool, readJson, sendJson, sendNoContent } from '../http.js';
import type { Handler, UpgradeHandler } from '../router.js';

function unixSeconds(d: Date | undefined): number {
  return d ? Math.floor(d.getTime() / 1000) : 0;
}

function ago(d: Date): string {
  const s = Math.max(0, Math.round((Date.now() - d.getTime()) / 1000));
  if (s < 60) return s <= 1 ? 'Less than a second' : `${s} seconds`;
  if (s < 3600) return `${Math.round(s / 60)} minutes`;
  return `${Math.round(s / 3600)} hours`;
}

function status(c: Container): string {
  if (c.state === 'running') return `Up ${ago(c.startedAt!)}`;
  if (c.state === 'exited') return `Exited (${c.exitCode}) ${ago(c.finishedAt!)} ago`;
  return 'Created';
}

export const create: Handler = async (ctx, { req, res, query }) => {
  const body = await readJson<CreateBody>(req);
  const c = await ctx.containers.create(body, query.get('name') ?? undefined);
  sendJson(res, 201, { Id: c.id, Warnings: [] });
};

export const list: Handler = async (ctx, { res, query }) => {
  sendJson(
    res,
    200,
    ctx.containers.list(queryBool(query, 'all')).map((c) => ({
      Id: c.id,
      Names: [`/${c.name}`],
      Image: c.image,
      ImageID: c.imageId,
      Command: c.args.join(' '),
      Created: unixSeconds(c.created),
      Ports: [],
      Labels: c.body.Labels ?? {},
      State: c.state,
      Status: status(c),
      HostConfig: { NetworkMode: c.network },
      NetworkSettings: { Networks: {} },
      Mounts: [],
    })),
  );
};

export const inspect: Handler = async (ctx, { res, params }) => {
  const c = ctx.containers.get(params.id!);
  sendJson(res, 200, {
    Id: c.id,
    Created: c.created.toISOString(),
    Path: c.args[0],
    Args: c.args.slice(1),
    State: {
      Status: c.state,
      Running: c.state === 'running',
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 0,
      ExitCode: c.exitCode,
      Error: c.error,
      StartedAt: c.startedAt?.toISOString() ?? '0001-01-01T00:00:00Z',
      FinishedAt: c.finishedAt?.toISOString() ?? '0001-01-01T00:00:00Z',
    },
    Image: c.imageId,
    Name: `/${c.name}`,
    RestartCount: 0,
    Driver: 'overlay',
    Platform: 'linux',
    Config: {
      Hostname: c.hostname,
      User: c.user ?? '',
      Tty: Boolean(c.terminal),
      OpenStdin: Boolean(c.body.OpenStdin),
      StdinOnce: Boolean(c.body.StdinOnce),
      Env: c.env,
      Cmd: c.body.Cmd ?? null,
      Image: c.image,
      WorkingDir: c.cwd,
      Entrypoint: c.body.Entrypoint ?? null,
      Labels: c.body.Labels ?? {},
    },
    HostConfig: { Binds: c.body.HostConfig?.Binds ?? null, AutoRemove: Boolean(c.body.HostConfig?.AutoRemove), NetworkMode: c.network },
    Mounts: c.mounts.map((m) => (m.type === 'bind' ? { Type: 'bind', Source: m.source, Destination: m.target, RW: !m.readonly } : { Type: m.type })),
    NetworkSettings: { Networks: {} },
  });
};

export const start: Handler = async (ctx, { res, params }) => {
  const r = await ctx.containers.start(params.id!);
  sendNoContent(res, r === 'already' ? 304 : 204);
};

export const wait: Handler = async (ctx, { res, params, query }) => {
  const condition = query.get('condition') || 'not-running';
  if (condition !== 'not-running' && condition !== 'next-exit' && condition !== 'removed') throw badRequest(`invalid condition "${condition}"`);
  const waiting = ctx.containers.wait(params.id!, condition);
  // Headers go out at once: the client knows the wait is registered before it starts the container.
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const code = await waiting;
  res.end(JSON.stringify({ StatusCode: code, Error: null }));
};

/** Docker's default stop grace period, in seconds. */
const STOP_GRACE_SECONDS = 10;

export const stop: Handler = async (ctx, { res, params, query }) => {
  const t = query.get('t');
  const grace = t === null || t === '' ? (ctx.containers.get(params.id!).body.StopTimeout ?? STOP_GRACE_SECONDS) : Number(t);
  if (!Number.isInteger(grace)) throw badRequest(`invalid stop timeout "${t}": a whole number of seconds`);
  // Docker's t=-1 means wait without limit; kiln then waits the default, never forever.
  sendNoContent(res, (await ctx.containers.stop(params.id!, grace < 0 ? STOP_GRACE_SECONDS : grace)) ? 204 : 304);
};

export const kill: Handler = async (ctx, { res, params, query }) => {
  await ctx.containers.kill(params.id!, signalName(query.get('signal') || 'KILL'));
  sendNoContent(res);
};

/** `KILL`, `SIGKILL` or `9` as Node's signal name. */
function signalName(raw: string): NodeJS.Signals {
  const byNumber = Object.entries(constants.signals).find(([, n]) => String(n) === raw)?.[0];
  const name = byNumber ?? (raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`);
  if (!(name in constants.signals)) throw badRequest(`invalid signal "${raw}"`);
  return name as NodeJS.Signals;
}

export const remove: Handler = async (ctx, { res, params, query }) => {
  await ctx.containers.remove(params.id!, queryBool(query, 'force'));
  sendNoContent(res);
};

/** Multiplexed frames; a container with a terminal has one stream, sent as it is (Docker's raw stream). */
export const logs: Handler = async (ctx, { res, params, query }) => {
  const wanted = new Set<StreamType>();
  if (queryBool(query, 'stdout')) wanted.add(1);
  if (queryBool(query, 'stderr')) wanted.add(2);
  if (wanted.size === 0) throw badRequest('Bad parameters: you must choose at least one stream');
  const raw = Boolean(ctx.containers.get(params.id!).terminal);
  const source = ctx.containers.openLog(params.id!, queryBool(query, 'follow'));
  const reader = new FrameReader();
  const filter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      for (const f of reader.push(chunk)) if (wanted.has(f.stream)) this.push(raw ? f.payload : frame(f.stream, f.payload));
      done();
    },
  });
  res.writeHead(200, { 'Content-Type': raw ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
  await pipeline(source, filter, res);
};

/** `docker run -t` sends its terminal's size after start and whenever it changes. */
export const resize: Handler = async (ctx, { res, params, query }) => {
  const rows = Number(query.get('h'));
  const cols = Number(query.get('w'));
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0 || rows > 0xffff || cols > 0xffff) {
    throw badRequest(`invalid terminal size h=${query.get('h')} w=${query.get('w')}`);
  }
  await ctx.containers.resize(params.id!, { rows, cols });
  sendNoContent(res, 200);
};

export const attach: UpgradeHandler = async (ctx, { socket, head, params, query }) => {
  const c = ctx.containers.get(params.id!);
  const type = c.terminal ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
  ctx.containers.attach(c.id, socket, { stdin: queryBool(query, 'stdin'), stdout: queryBool(query, 'stdout'), stderr: queryBool(query, 'stderr') }, head);
};
