/**
 * The daemon's containers: created from an image, started in a fresh snapshot with runc, their
 * output kept as a multiplexed log file and fanned out to attached clients. They live as long as
 * the daemon does.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Writable, type Duplex } from 'node:stream';
import type { Store } from '../../cache/index.js';
import { KilnError } from '../../common/errors.js';
import { ContainerStartError, createSnapshot, exec, parseCapabilities, resolveRunProcess, type ImageRunConfig, type RuntimeMount, type TerminalSize } from '../../runtime/index.js';
import { badRequest, conflict, notFound } from '../http.js';
import type { Logger } from '../logger.js';
import { frame, type StreamType } from './mux.js';

/** The fields of Docker's container-create body kiln acts on. */
export interface CreateBody {
  Image?: string;
  Cmd?: string[] | null;
  Entrypoint?: string[] | string | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  Hostname?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Labels?: Record<string, string> | null;
  /** Seconds `docker stop` waits before SIGKILL when it gives no `t`. */
  StopTimeout?: number | null;
  HostConfig?: {
    Binds?: string[] | null;
    AutoRemove?: boolean;
    NetworkMode?: string;
    CapAdd?: string[] | null;
    /** The client terminal's `[rows, columns]`, the terminal's first size (with `Tty`). */
    ConsoleSize?: [number, number] | null;
  } | null;
}

export type ContainerState = 'created' | 'running' | 'exited';

export interface Container {
  id: string;
  name: string;
  image: string;
  imageId: string;
  body: CreateBody;
  args: string[];
  env: string[];
  cwd: string;
  user: string | undefined;
  hostname: string;
  network: 'host' | 'none';
  capAdd: string[];
  /** With a terminal (`Tty`): its size, which the client changes through resize. */
  terminal: TerminalSize | undefined;
  mounts: RuntimeMount[];
  lowerDirs: string[];
  created: Date;
  state: ContainerState;
  startedAt?: Date;
  finishedAt?: Date;
  exitCode: number;
  error: string;
}

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

interface Live {
  controller: AbortController;
  stdin: PassThrough | undefined;
  log: WriteStream;
  /** Bytes handed to `log` so far. */
  logBytes: number;
  /** Clients receiving output as it comes. */
  sinks: Set<{ socket: Duplex; streams: Set<StreamType> }>;
  done: Promise<void>;
  /** Sends the container's process a signal; a no-op until runc runs. */
  signal: (signal: NodeJS.Signals) => void;
  /** Resizes its terminal; a no-op until runc runs. */
  resize: (size: TerminalSize) => Promise<void>;
}

type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export class ContainerManager {
  private readonly containers = new Map<string, Container>();
  private readonly live = new Map<string, Live>();
  /** Clients attached before start; they become sinks when it starts. */
  private readonly pendingSinks = new Map<string, { socket: Duplex; opts: AttachOptions; head: Buffer }[]>();
  private readonly waiters = new Map<string, { condition: WaitCondition; resolve: (code: number) => void }[]>();

  constructor(
    private readonly root: string,
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  private dir(id: string): string {
    return join(this.root, 'daemon', 'containers', id);
  }

  logPath(id: string): string {
    return join(this.dir(id), 'output.mux');
  }

  /** By full id, unique id prefix, or name (with or without Docker's leading slash). */
  get(ref: string): Container {
    const name = ref.replace(/^\//, '');
    const byId = this.containers.get(ref);
    if (byId) return byId;
    for (const c of this.containers.values()) if (c.name === name) return c;
    const prefixed = [...this.containers.values()].filter((c) => ref.length >= 1 && c.id.startsWith(ref));
    if (prefixed.length === 1) return prefixed[0]!;
    if (prefixed.length > 1) throw badRequest(`multiple containers match the prefix "${ref}"`);
    throw notFound(`No such container: ${ref}`);
  }

  list(all: boolean): Container[] {
    return [...this.containers.values()].filter((c) => all || c.state === 'running').sort((a, b) => b.created.getTime() - a.created.getTime());
  }

  async create(body: CreateBody, name: string | undefined): Promise<Container> {
    if (!body.Image) throw badRequest('config is missing the Image');
    if (name !== undefined && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) throw badRequest(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    const wanted = name?.replace(/^\//, '');
    if (wanted !== undefined && [...this.containers.values()].some((c) => c.name === wanted)) {
      throw conflict(`Conflict. The container name "/${wanted}" is already in use`, { hint: 'remove that container or choose another --name' });
    }
    const network = body.HostConfig?.NetworkMode;
    if (network !== undefined && !['', 'default', 'host', 'none', 'bridge'].includes(network)) throw badRequest(`kiln supports only the host and none networks, not "${network}"`);
    const capAdd = parseCapabilities(body.HostConfig?.CapAdd ?? []);
    const mounts = await Promise.all((body.HostConfig?.Binds ?? []).map(parseBind));
    const img = await this.store.resolveImage(body.Image);
    const lowerDirs: string[] = [];
    for (const layer of img.layers) lowerDirs.push(await this.store.layerDir(layer));
    const id = randomBytes(32).toString('hex');
    const hostname = body.Hostname || id.slice(0, 12);
    const entrypoint = typeof body.Entrypoint === 'string' ? [body.Entrypoint] : body.Entrypoint;
    const imageConfig: ImageRunConfig = { ...(img.config.config ?? {}), ...(entrypoint != null ? { Entrypoint: entrypoint, Cmd: null } : {}) };
    const proc = resolveRunProcess(imageConfig, {
      command: body.Cmd ?? [],
      // The client already resolved bare `-e NAME`; one reaching here must not pick up the daemon's environment.
      env: (body.Env ?? []).filter((e) => e.includes('=')),
      ...(body.WorkingDir ? { workdir: body.WorkingDir } : {}),
      ...(body.User ? { user: body.User } : {}),
      hostname,
    });
    const c: Container = {
      id,
      name: wanted ?? `kiln_${id.slice(0, 8)}`,
      image: body.Image,
      imageId: img.configDigest,
      body,
      ...proc,
      hostname,
      network: network === 'none' ? 'none' : 'host',
      capAdd,
      terminal: body.Tty ? terminalSize(body.HostConfig?.ConsoleSize) : undefined,
      mounts,
      lowerDirs,
      created: new Date(),
      state: 'created',
      exitCode: 0,
      error: '',
    };
    await mkdir(this.dir(id), { recursive: true });
    this.containers.set(id, c);
    this.log.log('info', 'container created', { id: c.id.slice(0, 12), image: c.image });
    return c;
  }

  /** Starts the container; resolves once it runs (its exit is seen through wait). */
  async start(ref: string): Promise<'started' | 'already'> {
    const c = this.get(ref);
    if (c.state === 'running') return 'already';
    if (c.state === 'exited') throw conflict(`container ${c.id.slice(0, 12)} has already run; kiln does not restart containers`);
    const controller = new AbortController();
    // A terminal's input never ends: at the end of its input, script would type an EOF character
    // of its own (a NUL, as its stdin has no terminal settings) into the container's terminal.
    const wantsStdin = Boolean(c.body.OpenStdin) || c.terminal !== undefined;
    const live: Live = {
      controller,
      stdin: wantsStdin ? new PassThrough() : undefined,
      log: createWriteStream(this.logPath(c.id)),
      logBytes: 0,
      sinks: new Set(),
      done: Promise.resolve(),
      signal: () => undefined,
      resize: async () => undefined,
    };
    live.log.on('error', (e) => this.log.log('error', 'container log write failed', { id: c.id.slice(0, 12), error: e.message }));
    this.live.set(c.id, live);
    for (const p of this.pendingSinks.get(c.id) ?? []) this.addSink(c, live, p.socket, p.opts, p.head);
    this.pendingSinks.delete(c.id);
    c.state = 'running';
    c.startedAt = new Date();
    live.done = this.runToExit(c, live);
    return 'started';
  }

  /** The log keeps frames either way; attached clients of a terminal get its bytes as they are (Docker's raw stream). */
  private output(c: Container, live: Live, stream: StreamType): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, done) => {
        const f = frame(stream, chunk);
        live.log.write(f);
        live.logBytes += f.length;
        const sent = c.terminal ? chunk : f;
        for (const s of live.sinks) if (s.streams.has(stream) && !s.socket.destroyed) s.socket.write(sent);
        done();
      },
    });
  }

  private async runToExit(c: Container, live: Live): Promise<void> {
    const stdout = this.output(c, live, 1);
    const stderr = this.output(c, live, 2);
    try {
      const snapshot = await createSnapshot({ stateRoot: this.root, lowerDirs: c.lowerDirs, container: true });
      try {
        const r = await exec({
          stateRoot: this.root,
          rootfs: snapshot.rootfs,
          args: c.args,
          env: c.env,
          cwd: c.cwd,
          user: c.user,
          hostname: c.hostname,
          network: c.network,
          capAdd: c.capAdd,
          ...(c.terminal ? { relayTty: c.terminal } : {}),
          mounts: c.mounts,
          stdin: live.stdin ?? 'ignore',
          stdout,
          stderr,
          signal: live.controller.signal,
          name: c.name,
          image: c.image,
          onStart: (send, resize) => {
            live.signal = send;
            if (resize) live.resize = resize;
          },
        });
        c.exitCode = r.exitCode;
      } finally {
        await snapshot.release();
      }
    } catch (err) {
      if (live.controller.signal.aborted) {
        c.exitCode = 137;
      } else {
        c.exitCode = err instanceof ContainerStartError ? err.exitCode : 125;
        c.error = err instanceof KilnError ? err.message : String(err);
        stderr.write(Buffer.from(`kiln: ${c.error}\n`));
        if (!(err instanceof KilnError)) this.log.log('error', 'container failed', { id: c.id.slice(0, 12), error: (err as Error).stack ?? String(err) });
      }
    }
    c.state = 'exited';
    c.finishedAt = new Date();
    await new Promise<void>((resolve) => live.log.end(resolve));
    for (const s of live.sinks) s.socket.end();
    this.live.delete(c.id);
    this.log.log('info', 'container exited', { id: c.id.slice(0, 12), exitCode: c.exitCode });
    this.notify(c.id, ['not-running', 'next-exit'], c.exitCode);
    if (c.body.HostConfig?.AutoRemove) await this.remove(c.id, false);
  }

  private notify(id: string, conditions: WaitCondition[], code: number): void {
    const list = this.waiters.get(id) ?? [];
    const left = list.filter((w) => !conditions.includes(w.condition));
    for (const w of list) if (conditions.includes(w.condition)) w.resolve(code);
    if (left.length) this.waiters.set(id, left);
    else this.waiters.delete(id);
  }

  /** Resolves with the exit code when `condition` holds. */
  wait(ref: string, condition: WaitCondition): Promise<number> {
    const c = this.get(ref);
    if (condition === 'not-running' && c.state === 'exited') return Promise.resolve(c.exitCode);
    return new Promise((resolve) => {
      const list = this.waiters.get(c.id) ?? [];
      list.push({ condition, resolve });
      this.waiters.set(c.id, list);
    });
  }

  /**
   * Connects a hijacked client: output as it comes (for a container not started yet, from its
   * start), and its bytes as the container's stdin when it asked for stdin.
   */
  attach(ref: string, socket: Duplex, opts: AttachOptions, head: Buffer): void {
    const c = this.get(ref);
    const live = this.live.get(c.id);
    if (c.state === 'exited') {
      socket.end();
      return;
    }
    if (!live) {
      const list = this.pendingSinks.get(c.id) ?? [];
      list.push({ socket, opts, head });
      this.pendingSinks.set(c.id, list);
      socket.on('close', () => this.pendingSinks.set(c.id, (this.pendingSinks.get(c.id) ?? []).filter((p) => p.socket !== socket)));
      return;
    }
    this.addSink(c, live, socket, opts, head);
  }

  private addSink(c: Container, live: Live, socket: Duplex, opts: AttachOptions, head: Buffer): void {
    const streams = new Set<StreamType>();
    if (opts.stdout) streams.add(1);
    if (opts.stderr) streams.add(2);
    const sink = { socket, streams };
    live.sinks.add(sink);
    socket.on('close', () => live.sinks.delete(sink));
    if (opts.stdin && live.stdin && c.body.OpenStdin) {
      const stdin = live.stdin;
      if (head.length) stdin.write(head);
      socket.on('data', (d: Buffer) => stdin.write(d));
      // The client half-closes when its stdin ends; with StdinOnce (docker run -i) so does the container's.
      socket.on('end', () => {
        if (c.body.StdinOnce !== false && !c.terminal) stdin.end();
      });
    }
  }

  /**
   * Docker's stop: SIGTERM, then SIGKILL (exit code 137) if the container is still running after
   * `graceSeconds`, since its pid 1 may ignore SIGTERM. A grace of 0 kills at once.
   */
  async stop(ref: string, graceSeconds = 0): Promise<boolean> {
    const c = this.get(ref);
    const live = this.live.get(c.id);
    if (!live) return false;
    if (graceSeconds > 0) {
      live.signal('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([live.done.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceSeconds * 1000)))]);
      clearTimeout(timer);
      if (exited) return true;
    }
    live.controller.abort(new KilnError('E_CONTAINER_STOPPED', 'stopped'));
    await live.done;
    return true;
  }

  /** A terminal's new size (`docker run -t` follows its own terminal's); kept for a container not started yet. */
  async resize(ref: string, size: TerminalSize): Promise<void> {
    const c = this.get(ref);
    if (!c.terminal) throw conflict(`container ${c.id.slice(0, 12)} has no terminal to resize`);
    c.terminal = size;
    await this.live.get(c.id)?.resize(size);
  }

  /** Docker's kill: SIGKILL ends the container at once; any other signal is passed to its process. */
  async kill(ref: string, signal: NodeJS.Signals): Promise<void> {
    const c = this.get(ref);
    const live = this.live.get(c.id);
    if (!live) throw conflict(`Container ${c.id} is not running`);
    if (signal === 'SIGKILL') await this.stop(c.id);
    else live.signal(signal);
  }

  async remove(ref: string, force: boolean): Promise<void> {
    const c = this.get(ref);
    if (c.state === 'running') {
      if (!force) throw conflict(`You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
      await this.stop(c.id);
      // The exit handler removes auto-remove containers itself.
      if (!this.containers.has(c.id)) return;
    }
    this.containers.delete(c.id);
    for (const p of this.pendingSinks.get(c.id) ?? []) p.socket.end();
    this.pendingSinks.delete(c.id);
    await rm(this.dir(c.id), { recursive: true, force: true });
    this.notify(c.id, ['not-running', 'next-exit', 'removed'], c.exitCode);
    this.log.log('info', 'container removed', { id: c.id.slice(0, 12) });
  }

  /**
   * The multiplexed log, empty for a container never started. With `follow`, a running
   * container's output continues live until it exits: the file up to the moment of subscribing,
   * then what came after, so nothing is lost or repeated.
   */
  openLog(ref: string, follow: boolean): Readable {
    const c = this.get(ref);
    if (c.state === 'created') return Readable.from([]);
    const path = this.logPath(c.id);
    const live = this.live.get(c.id);
    if (!follow || !live) return createReadStream(path);
    const after = new PassThrough();
    const sink = { socket: after as Duplex, streams: new Set<StreamType>([1, 2]) };
    live.sinks.add(sink);
    const upTo = live.logBytes;
    const flushed = new Promise<void>((resolve) => live.log.write(Buffer.alloc(0), () => resolve()));
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        if (upTo > 0) {
          await flushed;
          yield* createReadStream(path, { end: upTo - 1 });
        }
        yield* after;
      } finally {
        live!.sinks.delete(sink);
      }
    }
    return Readable.from(chunks());
  }

  /** At shutdown: every running container is killed and waited for, and every record removed. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.stop(id).catch(() => undefined)));
    await Promise.all([...this.containers.keys()].map((id) => this.remove(id, true).catch(() => undefined)));
  }
}

/** `HOST:CTR[:ro|rw]` with an absolute host path that exists; named volumes need a volume store kiln lacks. */
async function parseBind(spec: string): Promise<RuntimeMount> {
  const parts = spec.split(':');
  const [source, target, mode] = parts;
  if (parts.length < 2 || parts.length > 3 || !source?.startsWith('/') || !target || (mode !== undefined && !/^(ro|rw)(,.*)?$/.test(mode))) {
    throw badRequest(`invalid volume "${spec}": kiln supports /host/path:/container/path[:ro|rw] only`);
  }
  await stat(source).catch((cause: unknown) => {
    throw badRequest(`volume source ${source} does not exist`, { cause });
  });
  return { type: 'bind', source, target, readonly: mode?.startsWith('ro') ?? false };
}

/** Docker's default terminal when the client gave no size. */
const DEFAULT_TERMINAL: TerminalSize = { rows: 24, cols: 80 };

function terminalSize(consoleSize: [number, number] | null | undefined): TerminalSize {
  const [rows, cols] = consoleSize ?? [0, 0];
  return rows > 0 && cols > 0 ? { rows, cols } : DEFAULT_TERMINAL;
}
