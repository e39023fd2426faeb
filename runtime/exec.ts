import { randomBytes } from 'node:crypto';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KilnError } from '../common/errors.js';
import { forwardSignals } from '../common/forward-signals.js';
import { inUserNamespace } from '../common/user-namespace.js';
import { boundingCapabilities } from './capabilities.js';
import { signalNumber } from './command.js';
import { cleanupLeftoversOnce } from './cleanup.js';
import { prepareMounts, type PreparedMounts } from './mounts.js';
import { createMountpoints, removeMountpointStubs, type StubChain } from './mountpoint-stubs.js';
import { runcRoot } from './owner.js';
import { checkRuntime } from './preflight.js';
import { lastRuncError, Runc } from './runc.js';
import { scratchDir } from './scratch-dir.js';
import { kernelRunsX32 } from './seccomp.js';
import { extraHostLines } from './extra-hosts.js';
import { registerCleanup } from './shutdown.js';
import { resizeRelay, type TerminalSize } from './tty-relay.js';
import { buildSpec, type OciMount } from './spec.js';
import type { ExecOptions, ExecResult, OutputSink, StdinSource } from './types.js';
import { resolveUser } from './users.js';

/** The container could not start its process; `exitCode` is what Docker would exit with (126/127/125). */
export class ContainerStartError extends KilnError {
  constructor(message: string, exitCode: number) {
    super('E_RUNTIME_START', message, {
      hint: exitCode === 127 ? 'check the command name and PATH inside the image' : exitCode === 126 ? 'make sure the file is executable' : undefined,
      exitCode,
    });
  }
}

/** Container metadata kept in the bundle for `kiln ps`. */
export interface ContainerMeta {
  name?: string;
  image?: string;
  command: string[];
  created: string;
}

export const META_FILE = 'kiln.json';

let hostResolvConf: string | undefined;

/**
 * The host's /etc/resolv.conf, read once. Synchronously: a thread-pool read waited behind the
 * deflate jobs of a big layer being packed meanwhile (10-15 ms before a RUN after a big COPY).
 */
function readHostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Runs one process in a fresh container on `rootfs` with runc and waits for it. The container
 * is deleted, mounts released and runc's mount-point stubs removed from the rootfs whatever happens.
 */
export async function exec(options: ExecOptions): Promise<ExecResult> {
  const binary = await checkRuntime();
  await cleanupLeftoversOnce(options.stateRoot);
  if (options.signal?.aborted) throw aborted();
  const runc = new Runc(binary, runcRoot(options.stateRoot));
  const id = `kiln-${randomBytes(6).toString('hex')}`;
  const bundle = join(await scratchDir(options.stateRoot), id);
  mkdirSync(bundle, { recursive: true });

  let child: ChildProcess | undefined;
  let mounts: PreparedMounts | undefined;
  let stubs: StubChain[] = [];
  const removeContainer = async () => {
    if (child && running(child)) await stopContainer(runc, id, child);
    await runc.delete(id);
  };
  const unregister = registerCleanup(removeContainer);
  const stopSignals: (() => void)[] = [];
  try {
    const cwd = posix.resolve('/', options.cwd || '/');
    const user = options.resolvedUser ?? (await resolveUser(options.rootfs, options.user));
    mounts = await prepareMounts(options.mounts ?? [], {
      stateRoot: options.stateRoot,
      bundleDir: bundle,
      cwd,
      secrets: options.secrets ?? new Map(),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const hostname = options.hostname || id.slice(5);
    const hostsFile = join(bundle, 'hosts');
    const resolvConfFile = join(bundle, 'resolv.conf');
    const terminalSize = consoleSize(options);
    const spec = buildSpec({
      rootfs: options.rootfs,
      args: options.args,
      env: options.env ?? [],
      cwd,
      user,
      hostname,
      network: options.network ?? 'host',
      hostsFile,
      resolvConfFile,
      mounts: mounts.oci,
      ...(options.rootMount ? { rootMount: options.rootMount } : {}),
      terminal: Boolean(options.tty || options.relayTty),
      ...(terminalSize ? { consoleSize: terminalSize } : {}),
      security: options.security ?? 'sandbox',
      capAdd: options.capAdd ?? [],
      ...(options.security === 'insecure' || options.capAdd?.length ? { boundingSet: await boundingCapabilities() } : {}),
      userNamespace: inUserNamespace(),
      ...(options.security === 'insecure' ? {} : { x32: kernelRunsX32(options.stateRoot) }),
    }) as { mounts: OciMount[] };
    const meta: ContainerMeta = { name: options.name, image: options.image, command: options.args, created: new Date().toISOString() };
    const resolvConf = (hostResolvConf ??= readHostResolvConf());
    // Four small files: synchronous writes are microseconds each, a thread-pool trip apiece costs more.
    writeFileSync(hostsFile, `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n${extraHostLines(options.extraHosts ?? [])}`);
    writeFileSync(resolvConfFile, resolvConf);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    writeFileSync(join(bundle, META_FILE), JSON.stringify(meta));
    if (!options.rootMount) stubs = await createMountpoints(options.rootfs, spec.mounts);

    const stdin = options.stdin ?? 'ignore';
    // runc relays a container terminal through its own stdio, putting it in raw mode: it has to be
    // in the terminal's foreground process group to do so. (Raw mode also means Ctrl-C reaches the
    // container as a keystroke, not kiln as SIGINT.)
    const sharesTerminal = options.tty || (stdin === 'inherit' && process.stdin.isTTY);
    const logFile = join(bundle, 'runc.log');
    // From this check to the abort listener below nothing awaits, so an abort during the setup
    // above is seen here and one from now on reaches the listener: none is missed.
    if (options.signal?.aborted) throw aborted();
    // Without a terminal to share, runc gets its own process group so a Ctrl-C reaches only kiln,
    // which then decides: forward it (kiln run) or kill the container (builds).
    const started = runc.run(id, bundle, logFile, stdio(stdin, options.stdout, options.stderr), !sharesTerminal, options.relayTty);
    child = started;
    pipeStdio(started, stdin, options.stdout, options.stderr);

    if (options.relayTty) {
      // `started` is script, not runc: signals go through runc kill, resizes to the relay terminal.
      options.onStart?.((signal) => void runc.kill(id, signal), (size) => resizeRelay(started.pid!, size));
    } else {
      // runc relays the signals it gets to the container's process.
      options.onStart?.((signal) => started.kill(signal));
    }
    if (options.forwardSignals) {
      const kill = () => void stopContainer(runc, id, started).catch(() => started.kill('SIGKILL'));
      stopSignals.push(forwardSignals((signal) => started.kill(signal), { escalate: { afterMs: options.stopGraceMs ?? 10_000, kill } }));
    }
    let why: 'aborted' | 'timeout' | undefined;
    const stop = (reason: 'aborted' | 'timeout') => {
      why ??= reason;
      // If even runc kill fails to run, runc itself is all that can still be stopped from here.
      stopContainer(runc, id, started).catch(() => started.kill('SIGKILL'));
    };
    const onAbort = () => stop('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    stopSignals.push(() => options.signal?.removeEventListener('abort', onAbort));
    if (options.timeoutMs !== undefined) {
      const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
      stopSignals.push(() => clearTimeout(timer));
    }

    const exitCode = await waitForRunc(started);
    if (why === 'aborted') throw aborted();
    if (why === 'timeout') {
      throw new KilnError('E_RUNTIME_TIMEOUT', `${options.args.join(' ')}: timed out after ${options.timeoutMs} ms and was killed`);
    }
    if (exitCode !== 0) {
      const startError = await lastRuncError(logFile);
      if (startError) throw new ContainerStartError(`cannot start container: ${startError}`, startExitCode(startError));
    }
    return { exitCode, containerId: id };
  } finally {
    for (const s of stopSignals) s();
    await removeContainer();
    await removeMountpointStubs(stubs);
    await mounts?.release();
    if (options.removeLater) options.removeLater(rm(bundle, { recursive: true, force: true }));
    else rmSync(bundle, { recursive: true, force: true });
    unregister();
  }
}

/** The size the container's terminal starts with: the relay's, or that of kiln's own terminal. */
function consoleSize(options: ExecOptions): TerminalSize | undefined {
  if (options.relayTty) return options.relayTty;
  if (!options.tty || !process.stdout.isTTY) return undefined;
  const { rows, columns } = process.stdout;
  return rows > 0 && columns > 0 ? { rows, cols: columns } : undefined;
}

function aborted(): KilnError {
  return new KilnError('E_RUNTIME_ABORTED', 'the command was cancelled');
}

/** How long runc may take to create the container before kill gives up on `runc kill`. */
const CREATE_GRACE_MS = 15_000;
/** How long the container's stdio may stay open after runc exited. */
const STDIO_GRACE_MS = 5_000;

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Kills the container (not just runc). Until runc has created it, `runc kill` finds nothing;
 * killing runc then would orphan `runc init`, which waits forever in the container's namespaces
 * and cgroup with no state left for `runc delete` to find. So keep asking runc to kill it until
 * the container exists or runc exits; only a runc stuck that long in creation is killed itself.
 */
async function stopContainer(runc: Runc, id: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + CREATE_GRACE_MS;
  while (running(child)) {
    if (await runc.kill(id, 'KILL')) return;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      return;
    }
    await sleep(25);
  }
}

/**
 * Resolves with runc's exit code once its output has been read. Output normally ends with runc;
 * if something else still holds the pipes after it exited, they are closed after a grace period
 * rather than waited on forever.
 */
function waitForRunc(child: ChildProcess): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let grace: NodeJS.Timeout | undefined;
    child.on('error', (err) => reject(new KilnError('E_RUNTIME_SPAWN', `cannot run runc: ${err.message}`, { cause: err })));
    child.on('exit', () => {
      grace = setTimeout(() => {
        for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.destroy();
      }, STDIO_GRACE_MS);
    });
    child.on('close', (code, signal) => {
      clearTimeout(grace);
      resolve(code ?? 128 + signalNumber(signal));
    });
  });
}

function startExitCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied/i.test(message)) return 126;
  return 125;
}

function stdio(stdin: StdinSource, stdout: OutputSink | undefined, stderr: OutputSink | undefined): StdioOptions {
  const out = (s: OutputSink | undefined) => (s === 'inherit' ? 'inherit' : s === undefined || s === 'ignore' ? 'ignore' : 'pipe');
  return [stdin === 'inherit' ? 'inherit' : stdin === 'ignore' ? 'ignore' : 'pipe', out(stdout), out(stderr)];
}

function pipeStdio(child: ChildProcess, stdin: StdinSource, stdout: OutputSink | undefined, stderr: OutputSink | undefined): void {
  if (typeof stdin === 'object' && child.stdin) {
    // The container may exit without reading everything; that is not an error.
    child.stdin.on('error', () => undefined);
    stdin.pipe(child.stdin);
  }
  if (typeof stdout === 'object' && child.stdout) child.stdout.pipe(stdout, { end: false });
  if (typeof stderr === 'object' && child.stderr) child.stderr.pipe(stderr, { end: false });
}
