/**
 * `kiln serve`: one process owning a state root, answering the Docker Engine API subset in
 * routes/ on every listener. Shutdown cancels running work, stops containers, releases mounts
 * and closes the store.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { openStore } from '../cache/index.js';
import { KilnError } from '../common/errors.js';
import { cleanupAll } from '../runtime/index.js';
import { ContainerManager } from './containers/index.js';
import { WorkTracker, type DaemonContext } from './context.js';
import { errorJson, sendJson, statusOf } from './http.js';
import { checkTcpAllowed, groupId, openListener, parseHost, type TlsFiles } from './listeners.js';
import { createLogger, type LogFormat } from './logger.js';
import { routes } from './routes/index.js';
import { API_VERSION, Router } from './router.js';

export interface DaemonOptions {
  root: string;
  /** `unix:///path` or `tcp://host:port`, at least one. */
  hosts: string[];
  /** Group owning UNIX sockets; default `kiln` if it exists, else root's. */
  group?: string;
  tls?: TlsFiles;
  insecureTcp?: boolean;
  /** Grant clients' builds the security.insecure entitlement (`RUN --security=insecure`). */
  allowInsecure?: boolean;
  logFormat?: LogFormat;
  /** Where log lines go (default stderr). */
  logWrite?: (line: string) => void;
}

export interface Daemon {
  /** Stops accepting requests, cancels builds, stops containers, releases mounts, closes the store. */
  close(): Promise<void>;
}

async function socketGroup(name: string | undefined): Promise<number> {
  if (name === undefined) return (await groupId('kiln')) ?? 0;
  const gid = await groupId(name);
  if (gid === undefined) throw new KilnError('E_SERVE_GROUP', `group "${name}" does not exist`, { hint: `create it (groupadd ${name}) or give another --group` });
  return gid;
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const specs = o.hosts.map(parseHost);
  if (specs.length === 0) throw new KilnError('E_SERVE_USAGE', 'no --host to listen on');
  for (const spec of specs) checkTcpAllowed(spec, { insecureTcp: Boolean(o.insecureTcp), ...(o.tls ? { tls: o.tls } : {}) });
  const gid = await socketGroup(o.group);
  const log = createLogger(o.logFormat ?? 'text', o.logWrite);
  const store = await openStore(o.root);
  const ctx: DaemonContext = { root: o.root, store, log, containers: new ContainerManager(o.root, store, log), work: new WorkTracker(), sharedSteps: new Map(), allowInsecure: Boolean(o.allowInsecure) };
  const router = new Router(routes);
  const servers: Server[] = [];
  try {
    for (const spec of specs) {
      if (spec.kind === 'tcp' && !o.tls && o.insecureTcp) {
        log.log('warn', 'serving plain TCP without TLS: anyone who can connect controls this daemon and the host', { host: `${spec.host}:${spec.port}` });
      }
      const server = await openListener(spec, { gid, insecureTcp: Boolean(o.insecureTcp), ...(o.tls ? { tls: o.tls } : {}) }, (server) => {
        // Builds, pulls and attached containers may take hours; only slow headers are cut off.
        server.requestTimeout = 0;
        server.headersTimeout = 60_000;
        server.on('request', (req: IncomingMessage, res: ServerResponse) => void handle(ctx, router, req, res));
        server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void handleUpgrade(ctx, router, req, socket, head));
        server.on('clientError', (_err, socket: Duplex) => {
          if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"message":"malformed HTTP request"}');
          else socket.destroy();
        });
      });
      servers.push(server);
      log.log('info', 'listening', { host: spec.kind === 'unix' ? `unix://${spec.path}` : `tcp://${spec.host}:${spec.port}`, api: API_VERSION });
    }
  } catch (e) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    store.close();
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        log.log('info', 'shutting down');
        const closed = Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
        const reason = new KilnError('E_DAEMON_SHUTDOWN', 'the kiln daemon is shutting down');
        await ctx.work.cancelAll(reason);
        await ctx.containers.stopAll();
        await cleanupAll();
        for (const s of servers) s.closeAllConnections();
        await closed;
        store.close();
        log.log('info', 'stopped');
      })();
      return closing;
    },
  };
}

async function handle(ctx: DaemonContext, router: Router, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const url = new URL(req.url ?? '/', 'http://kiln');
  try {
    const m = router.match(req.method ?? 'GET', url.pathname);
    if (!m.route.handler) throw new KilnError('E_API_UPGRADE', `${url.pathname} needs an upgraded (hijacked) connection`);
    await m.route.handler(ctx, { req, res, params: m.params, query: url.searchParams, version: m.version });
  } catch (err) {
    const status = statusOf(err);
    if (status >= 500) ctx.log.log('error', 'request failed', { method: req.method, path: url.pathname, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    if (!res.headersSent) sendJson(res, status, errorJson(err));
    else res.destroy();
    if (!req.complete) discardBody(req);
  } finally {
    ctx.log.log('info', 'request', { method: req.method, path: url.pathname, status: res.statusCode, ms: Date.now() - started });
  }
}

/** Bytes of an unread body read and dropped so the client sees the answer; past that the connection is cut. */
const DISCARD_LIMIT = 16 << 20;

function discardBody(req: IncomingMessage): void {
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > DISCARD_LIMIT) req.destroy();
  });
  req.resume();
}

async function handleUpgrade(ctx: DaemonContext, router: Router, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://kiln');
  socket.on('error', () => undefined);
  try {
    const m = router.match(req.method ?? 'POST', url.pathname);
    if (!m.route.upgrade) throw new KilnError('E_API_UPGRADE', `${url.pathname} does not take an upgraded connection`);
    ctx.log.log('info', 'request', { method: req.method, path: url.pathname, upgrade: true });
    await m.route.upgrade(ctx, { req, socket, head, params: m.params, query: url.searchParams, version: m.version });
  } catch (err) {
    const body = JSON.stringify(errorJson(err));
    const status = statusOf(err);
    socket.end(`HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
}
