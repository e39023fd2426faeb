/**
 * Containers on a daemon, through Docker's endpoints: `kiln ps` and `kiln run` (create, attach on
 * a hijacked connection, start, wait; the terminal's size and the signals kiln gets follow).
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { KilnError } from '../common/errors.js';
import { forwardSignals } from '../common/forward-signals.js';
import { FrameReader, type CreateBody } from '../daemon/index.js';
import type { TerminalSize } from '../runtime/index.js';
import type { DaemonClient } from './connection.js';

/** A row of `GET /containers/json`. */
export interface RemoteContainer {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  /** Unix seconds. */
  Created: number;
  Status: string;
}

export function listContainers(client: DaemonClient): Promise<RemoteContainer[]> {
  return client.json<RemoteContainer[]>('GET', '/containers/json');
}

export interface RemoteRunIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** The local terminal's size, for a container with a terminal. */
  terminalSize?: () => TerminalSize;
  /** Calls back when the local terminal changes size; returns how to stop listening. */
  onTerminalResize?: (fn: () => void) => () => void;
}

/**
 * Runs a container on the daemon and returns its exit code: attached before it starts (so no
 * output is missed), removed when it exits. Output is demultiplexed to `stdout`/`stderr`, or
 * copied as it is from a terminal.
 */
export async function runContainer(client: DaemonClient, body: CreateBody, name: string | undefined, stopTimeoutSeconds: number, io: RemoteRunIO): Promise<number> {
  const created = await client.json<{ Id: string }>('POST', `/containers/create${name === undefined ? '' : `?${new URLSearchParams({ name })}`}`, body);
  const path = (what: string, q: Record<string, string> = {}) => `/containers/${created.Id}/${what}${Object.keys(q).length ? `?${new URLSearchParams(q)}` : ''}`;
  const stdin = Boolean(body.OpenStdin);
  let socket: Duplex;
  let exited: Promise<number>;
  try {
    socket = await client.upgrade(path('attach', { stream: '1', stdin: stdin ? '1' : '0', stdout: '1', stderr: '1' }));
    // Asked before the start, so the exit cannot be missed.
    const waiting = await client.request('POST', path('wait', { condition: 'removed' }));
    exited = text(waiting).then((t) => (JSON.parse(t) as { StatusCode: number }).StatusCode);
    exited.catch(() => undefined);
    await client.request('POST', path('start')).then((r) => r.resume());
  } catch (e) {
    await client.request('DELETE', `/containers/${created.Id}?force=1`).then((r) => r.resume(), () => undefined);
    throw e;
  }
  const output = copyOutput(socket, Boolean(body.Tty), io);
  if (stdin) {
    io.stdin.pipe(socket);
  }
  const resize = async () => {
    if (!io.terminalSize) return;
    const { rows, cols } = io.terminalSize();
    await client.request('POST', path('resize', { h: String(rows), w: String(cols) })).then((r) => r.resume(), () => undefined);
  };
  const stopResizing = body.Tty ? (io.onTerminalResize?.(() => void resize()) ?? (() => undefined)) : () => undefined;
  if (body.Tty) await resize();
  const stopForwarding = forwardToContainer(client, path, stopTimeoutSeconds);
  try {
    const [code] = await Promise.all([exited, output]);
    return code;
  } finally {
    stopForwarding();
    stopResizing();
    if (stdin) io.stdin.unpipe(socket);
    socket.destroy();
  }
}

/** Resolves once the daemon has sent all output (it ends the stream when the container exits). */
function copyOutput(socket: Duplex, tty: boolean, io: RemoteRunIO): Promise<void> {
  const frames = new FrameReader();
  return new Promise((resolve, reject) => {
    const write = (out: Writable, data: Buffer) => {
      if (!out.write(data)) {
        socket.pause();
        out.once('drain', () => socket.resume());
      }
    };
    socket.on('data', (chunk: Buffer) => {
      if (tty) return write(io.stdout, chunk);
      for (const f of frames.push(chunk)) write(f.stream === 2 ? io.stderr : io.stdout, f.payload);
    });
    socket.on('end', () => resolve());
    socket.on('error', (e) => reject(new KilnError('E_DAEMON_STREAM', `the connection to the kiln daemon broke: ${e.message}`, { cause: e })));
  });
}

/**
 * Passes the signals kiln gets on to the container; after SIGTERM or SIGHUP, a container still
 * running `stopTimeoutSeconds` later is killed (exit 137), as `kiln run` does embedded.
 */
function forwardToContainer(client: DaemonClient, path: (what: string, q: Record<string, string>) => string, stopTimeoutSeconds: number): () => void {
  const send = (signal: string) => client.request('POST', path('kill', { signal })).then((r) => r.resume(), () => undefined);
  return forwardSignals((signal) => void send(signal), { escalate: { afterMs: stopTimeoutSeconds * 1000, kill: () => void send('SIGKILL') } });
}
