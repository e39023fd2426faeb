import type { Worker } from 'node:worker_threads';
import { changedSizeError, layerIOError, type TarPiece } from './tar-writer.js';
import { workerThreads } from '../../common/builtins.js';

const SLAB = 1024 * 1024;
/**
 * Slabs a pack cycles between the thread and the compressor. Measured on the 512 MiB bench/layer
 * data: fewer leave the thread waiting for slabs while zstd's input queue is full.
 */
const SLABS = 8;
/** Tar bytes handed to the thread and not yet back, at most (bounds how far the walk runs ahead). */
const AHEAD = 8 * SLAB;
/** Pieces per message: one message per header would cost more than reading a small file. */
const BATCH_PIECES = 256;

/**
 * The thread: reads file bodies into slabs with the headers between them, and hashes each slab
 * right after filling it, while its bytes are still in this core's cache (hashing the same bytes
 * after they had passed through the compressor cost ~50% more). Plain CommonJS run with `eval`,
 * so it needs no file of its own beside the esbuild bundle and no TypeScript loader under tsx.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const SLAB = ${SLAB};
const SLABS = ${SLABS};
let job;
parentPort.on('message', (m) => {
  if (m.start !== undefined) job = { id: m.start, hash: createHash('sha256'), size: 0, queue: [], head: 0, pos: 0, fd: -1, free: [], allocated: 0, slab: undefined, used: 0, ended: false };
  else if (job === undefined || m.job !== job.id) return;
  else if (m.slab !== undefined) job.free.push(m.slab);
  else if (m.pieces !== undefined) for (const p of m.pieces) job.queue.push(p);
  else if (m.end) job.ended = true;
  try {
    pump();
  } catch (err) {
    if (job.fd >= 0) closeSync(job.fd);
    parentPort.postMessage({ job: job.id, error: err.shrunk ?? { message: err.message, code: err.code } });
    job = undefined;
  }
});
function pump() {
  for (;;) {
    if (job.slab === undefined) {
      const buffer = job.free.pop() ?? (job.allocated < SLABS ? (job.allocated++, new ArrayBuffer(SLAB)) : undefined);
      if (buffer === undefined) return;
      job.slab = new Uint8Array(buffer);
      job.used = 0;
    }
    const piece = job.queue[job.head];
    if (piece === undefined) {
      if (!job.ended) return;
      if (job.used > 0) send();
      parentPort.postMessage({ job: job.id, digest: job.hash.digest('hex'), size: job.size });
      job = undefined;
      return;
    }
    if (piece instanceof Uint8Array) {
      const n = Math.min(SLAB - job.used, piece.length - job.pos);
      job.slab.set(piece.subarray(job.pos, job.pos + n), job.used);
      job.used += n;
      job.pos += n;
      if (job.pos === piece.length) next();
    } else {
      if (job.fd < 0) job.fd = openSync(piece.path, 'r');
      const n = readSync(job.fd, job.slab, job.used, Math.min(SLAB - job.used, piece.size - job.pos), job.pos);
      if (n === 0) throw { shrunk: { path: piece.path, size: piece.size, read: job.pos } };
      job.used += n;
      job.pos += n;
      if (job.pos === piece.size) {
        closeSync(job.fd);
        job.fd = -1;
        next();
      }
    }
    if (job.used === SLAB) send();
  }
}
function next() {
  job.pos = 0;
  job.head++;
  if (job.head === job.queue.length) {
    job.queue = [];
    job.head = 0;
  }
}
function send() {
  const view = job.slab.subarray(0, job.used);
  job.hash.update(view);
  job.size += job.used;
  parentPort.postMessage({ job: job.id, slab: job.slab.buffer, length: job.used }, [job.slab.buffer]);
  job.slab = undefined;
}
`;

type Reply =
  | { job: number; slab: ArrayBuffer; length: number }
  | { job: number; digest: string; size: number }
  | { job: number; error: { message: string; code?: string } | { path: string; size: number; read: number } };

/** Idle threads, kept for the next big layer: a start costs ~30 ms. Never more than this many. */
const MAX_IDLE = 2;
const idle: Worker[] = [];
let jobs = 0;

function acquire(): Worker {
  // No inherited flags: `--input-type=module` would make the source ESM, `--import` would load a loader it has no use for.
  const worker = idle.pop() ?? new (workerThreads().Worker)(WORKER_SOURCE, { eval: true, execArgv: [] });
  worker.ref();
  return worker;
}

/**
 * Starts a thread for a big layer that is about to be packed, unless one is idle already: the
 * pack then need not wait the ~25 ms a thread takes to start, which it spends on another core
 * while the layer's files are still being written.
 */
export function prewarmTarThread(): void {
  if (idle.length > 0) return;
  const worker = acquire();
  worker.unref();
  idle.push(worker);
}

function forget(worker: Worker): void {
  worker.removeAllListeners('message');
  worker.removeAllListeners('error');
}

function release(worker: Worker): void {
  forget(worker);
  if (idle.length >= MAX_IDLE) {
    void worker.terminate();
    return;
  }
  // An idle thread must not keep the process alive.
  worker.unref();
  idle.push(worker);
}

/**
 * A layer tar built on a thread: the caller walks the tree and encodes headers (`pieces`), the
 * thread reads file bodies and computes the tar's sha256 (the diffID), and the caller gets the
 * tar back in 1 MiB slabs for the compressor. Packing a big layer on two cores was bound by the
 * main thread, and reading plus hashing the tar were most of its work.
 *
 * Each slab from `chunks()` must be handed back with `recycle` once nothing uses its bytes any
 * more: the thread fills it again (fresh memory for every slab cost more in page faults than
 * the copies it saves).
 */
export class TarThread {
  private readonly worker = acquire();
  private readonly job = ++jobs;
  private readonly arrived: Buffer[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private result: { digest: string; size: number } | undefined;
  /** Tar bytes sent to the thread (as headers and file sizes) and received back. */
  private sent = 0;
  private received = 0;

  constructor(
    private readonly dir: string,
    private readonly pieces: AsyncIterable<TarPiece>,
  ) {
    this.worker.on('message', (reply: Reply) => this.onReply(reply));
    this.worker.on('error', (err) => this.fail(layerIOError(dir, err)));
    this.worker.postMessage({ start: this.job });
  }

  /** The tar's bytes in order. Stopping early (or a failure) ends the thread instead of reusing it. */
  async *chunks(): AsyncGenerator<Buffer> {
    const plan = this.pieces[Symbol.asyncIterator]();
    let planned = false;
    let finished = false;
    try {
      for (;;) {
        while (!planned && this.sent - this.received < AHEAD) planned = await this.sendBatch(plan);
        if (this.failure) throw this.failure;
        const slab = this.arrived.shift();
        if (slab !== undefined) yield slab;
        else if (this.result !== undefined) break;
        else await new Promise<void>((resolve) => (this.wake = resolve));
      }
      finished = true;
    } catch (err) {
      throw layerIOError(this.dir, err);
    } finally {
      if (finished) release(this.worker);
      else {
        forget(this.worker);
        void this.worker.terminate();
        await plan.return?.();
      }
    }
  }

  /** Gives a slab from `chunks()` back to the thread to fill again. */
  recycle(slab: Buffer): void {
    if (this.result !== undefined || this.failure !== undefined) return;
    this.worker.postMessage({ job: this.job, slab: slab.buffer }, [slab.buffer as ArrayBuffer]);
  }

  /** `sha256:<hex>` of the whole tar; only valid once `chunks()` has ended. */
  get digest(): string {
    return `sha256:${this.ended().digest}`;
  }

  get size(): number {
    return this.ended().size;
  }

  private ended(): { digest: string; size: number } {
    if (this.result === undefined) throw new Error('TarThread: digest read before the tar ended');
    return this.result;
  }

  /** Sends the next pieces; true once the plan has ended. */
  private async sendBatch(plan: AsyncIterator<TarPiece>): Promise<boolean> {
    const batch: (Uint8Array | { path: string; size: number })[] = [];
    let bytes: Buffer[] = [];
    const flushBytes = (): void => {
      if (bytes.length > 0) batch.push(bytes.length === 1 ? bytes[0]! : Buffer.concat(bytes));
      bytes = [];
    };
    let ended = false;
    let size = 0;
    while (batch.length < BATCH_PIECES && size < AHEAD) {
      const next = await plan.next();
      if (next.done) {
        ended = true;
        break;
      }
      const piece = next.value;
      if (Buffer.isBuffer(piece)) {
        bytes.push(piece);
        size += piece.length;
      } else {
        flushBytes();
        batch.push({ path: piece.path, size: piece.size });
        size += piece.size;
      }
    }
    flushBytes();
    this.sent += size;
    if (batch.length > 0) this.worker.postMessage({ job: this.job, pieces: batch });
    if (ended) this.worker.postMessage({ job: this.job, end: true });
    return ended;
  }

  private onReply(reply: Reply): void {
    if (reply.job !== this.job) return;
    if ('slab' in reply) {
      this.received += reply.length;
      this.arrived.push(Buffer.from(reply.slab, 0, reply.length));
    } else if ('digest' in reply) {
      this.result = { digest: reply.digest, size: reply.size };
    } else {
      const e = reply.error;
      this.failure = 'read' in e ? changedSizeError(e.path, e.size, e.read) : layerIOError(this.dir, Object.assign(new Error(e.message), { code: e.code }));
    }
    this.wakeUp();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
