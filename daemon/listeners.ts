/**
 * Where the daemon listens: UNIX sockets (0660, root and a group) and TCP, which needs TLS with
 * client-certificate verification unless explicitly made insecure.
 */
import { rmSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readFile, rename, unlink } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { KilnError } from '../common/errors.js';

export type HostSpec = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export const DEFAULT_SOCKET = '/run/kiln/kiln.sock';

const usage = (message: string, hint: string) => new KilnError('E_SERVE_USAGE', message, { hint });

export function parseHost(spec: string): HostSpec {
  if (spec.startsWith('unix://')) {
    const path = spec.slice('unix://'.length);
    if (!path.startsWith('/')) throw usage(`--host ${spec}: the socket path must be absolute`, 'use unix:///path/to/kiln.sock');
    return { kind: 'unix', path };
  }
  const tcp = /^tcp:\/\/(\[[0-9a-fA-F:]+\]|[^:/]+):(\d{1,5})\/?$/.exec(spec);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port < 1 || port > 65535) throw usage(`--host ${spec}: invalid port`, 'use a port between 1 and 65535');
    return { kind: 'tcp', host: tcp[1]!.replace(/^\[|\]$/g, ''), port };
  }
  throw usage(`--host ${spec} is not unix://PATH or tcp://HOST:PORT`, 'e.g. --host unix:///run/kiln/kiln.sock or --host tcp://127.0.0.1:2376');
}

/** The gid of `name` from /etc/group, or undefined when there is no such group. */
export async function groupId(name: string): Promise<number | undefined> {
  const text = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  if (/^\d+$/.test(name)) return Number(name);
  return undefined;
}

/** A stale socket left by a dead daemon is removed; one a live daemon answers on is an error. */
async function clearSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new KilnError('E_SERVE_SOCKET', `${path} exists and is not a socket`, { hint: 'remove it or choose another --host' });
  const live = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live) throw new KilnError('E_SERVE_SOCKET', `another daemon is listening on ${path}`, { hint: 'stop it first, or choose another --host' });
  await unlink(path);
}

function listen(server: Server, ...args: [string] | [number, string]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(...(args as [string]), () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export interface ListenOptions {
  /** gid owning UNIX sockets. */
  gid: number;
  tls?: TlsFiles;
  insecureTcp: boolean;
}

/** TCP without TLS client verification is refused unless explicitly allowed. */
export function checkTcpAllowed(spec: HostSpec, o: Pick<ListenOptions, 'tls' | 'insecureTcp'>): void {
  if (spec.kind !== 'tcp' || o.tls || o.insecureTcp) return;
  throw new KilnError('E_SERVE_INSECURE', `refusing to serve tcp://${spec.host}:${spec.port} without TLS client verification: anyone who can connect would control the daemon`, {
    hint: 'give --tlscacert, --tlscert and --tlskey, or --insecure-tcp if you really mean it',
  });
}

/** Opens a listener; `setup` attaches the request handlers before it accepts connections, so none goes unanswered. */
export async function openListener(spec: HostSpec, o: ListenOptions, setup: (server: Server) => void): Promise<Server> {
  if (spec.kind === 'unix') {
    await mkdir(dirname(spec.path), { recursive: true });
    await clearSocket(spec.path);
    const server = createHttpServer();
    setup(server);
    // Bound beside its path with no access for anyone, given to root and the group, then moved
    // into place: the path never names a socket others could use, nor one its group cannot yet.
    const bound = join(dirname(spec.path), `.${basename(spec.path)}.${process.pid}`);
    await unlink(bound).catch(() => undefined);
    const oldMask = process.umask(0o777);
    try {
      await listen(server, bound);
    } finally {
      process.umask(oldMask);
    }
    await chown(bound, 0, o.gid);
    await chmod(bound, 0o660);
    await rename(bound, spec.path);
    // The server removes the name it was bound to when it closes, which is gone by then.
    server.once('close', () => rmSync(spec.path, { force: true }));
    return server;
  }
  let server: Server;
  if (o.tls) {
    const [ca, cert, key] = await Promise.all([o.tls.ca, o.tls.cert, o.tls.key].map((f) =>
      readFile(f).catch((cause: unknown) => {
        throw new KilnError('E_SERVE_TLS', `cannot read ${f}: ${(cause as Error).message}`, { cause });
      }),
    ));
    server = createHttpsServer({ ca, cert, key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }) as unknown as Server;
  } else {
    checkTcpAllowed(spec, o);
    server = createHttpServer();
  }
  setup(server);
  await listen(server, spec.port, spec.host);
  return server;
}
