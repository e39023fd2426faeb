/** Test helpers for `kiln serve`: a daemon on a temp socket over a busybox state root, and the real docker CLI as its client. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliMain, freshRoot, repo } from './build-helpers.js';
import { collectOutput, type ProcessResult } from './process-output.js';

export interface TestDaemon {
  root: string;
  dir: string;
  socket: string;
  /** Everything the daemon logged so far. */
  log(): string;
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number | null>;
  /** Stops the daemon and removes its files. */
  cleanup(): Promise<void>;
}

export interface DaemonStartOptions {
  /** Extra `kiln serve` arguments. */
  args?: string[];
  /** Hosts served besides `unix://<dir>/kiln.sock`. */
  extraHosts?: string[];
  /** Return at once instead of waiting for `/_ping` to answer (for a daemon expected to fail). */
  waitReady?: boolean;
}

export async function startDaemon(o: DaemonStartOptions = {}): Promise<TestDaemon & { child: ChildProcess; exited: Promise<number | null> }> {
  const { root, cleanup: removeRoot } = await freshRoot();
  const dir = await mkdtemp(join(tmpdir(), 'kiln-daemon-'));
  const socket = join(dir, 'kiln.sock');
  const hosts = [`unix://${socket}`, ...(o.extraHosts ?? [])];
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), cliMain, '--root', root, 'serve', ...hosts.flatMap((h) => ['--host', h]), ...(o.args ?? [])], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  const d = {
    root,
    dir,
    socket,
    child,
    exited,
    log: () => output,
    stop,
    async cleanup() {
      await stop();
      await Promise.all([removeRoot(), rm(dir, { recursive: true, force: true })]);
    },
  };
  if (o.waitReady !== false) {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`kiln serve exited ${child.exitCode}:\n${output}`);
      if (await pingOk(socket)) break;
      if (i > 600) {
        await d.cleanup();
        throw new Error(`kiln serve did not answer within 60 s:\n${output}`);
      }
      await sleep(100);
    }
  }
  return d;
}

function pingOk(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(5000, () => req.destroy());
    req.end();
  });
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw HTTP request over the daemon's socket. */
export function http(socketPath: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export type DockerResult = ProcessResult;

/** Runs the real docker CLI against the daemon, with a docker config dir of its own. */
export function docker(socket: string, args: string[], o: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<DockerResult> {
  return spawnClient('docker', args, socket, o);
}

/** A bash script (pipes of docker commands) with the same environment as docker(). */
export function shell(socket: string, script: string, o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<DockerResult> {
  return spawnClient('bash', ['-o', 'pipefail', '-c', script], socket, o);
}

function spawnClient(command: string, args: string[], socket: string, o: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<DockerResult> {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(socket, '..', 'docker-config'), ...o.env };
  return collectOutput(command, args, { cwd: o.cwd ?? tmpdir(), env }, o.input ?? '');
}

/** Like docker() but fails with the output when the command fails. */
export async function dockerOk(socket: string, args: string[], o: Parameters<typeof docker>[2] = {}): Promise<string> {
  const r = await docker(socket, args, o);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export interface ClientSetup {
  d: TestDaemon;
  /** The client's own state root (its stat cache spares re-hashing context files). */
  local: string;
  /** A temp dir for the test's files. */
  tmp: string;
  /** `--host unix://...` for kiln. */
  host: string[];
  cleanup(): Promise<void>;
}

/** A daemon and what a kiln client of it needs. */
export async function startClientSetup(prefix: string): Promise<ClientSetup> {
  const [d, local] = await Promise.all([startDaemon(), freshRoot()]);
  const tmp = await mkdtemp(join(tmpdir(), prefix));
  return {
    d,
    local: local.root,
    tmp,
    host: ['--host', `unix://${d.socket}`],
    cleanup: async () => {
      await Promise.all([d.cleanup(), local.cleanup(), rm(tmp, { recursive: true, force: true })]);
    },
  };
}
