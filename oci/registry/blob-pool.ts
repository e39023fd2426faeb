import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { KilnError } from '../../common/errors.js';
import type { ClientOptions, ClientSession } from './client.js';
import { RegistryError } from './errors.js';
import { publishBlob, type BlobProgressEvent } from './progress.js';
import { workerThreads } from '../../common/builtins.js';

/** One blob for a worker to download into `path` (a new temp file of the store). */
export interface BlobJob {
  id: number;
  registry: string;
  /** Only the plain-data fields of ClientOptions cross the thread boundary. */
  options: ClientOptions;
  session: ClientSession;
  repository: string;
  digest: string;
  size: number;
  path: string;
  /** Whether anyone on the main thread listens to blob progress. */
  progress: boolean;
}

/** An error as it crosses the thread boundary (structured clone keeps no classes). */
export interface WireError {
  message: string;
  code?: string;
  hint?: string | undefined;
  status?: number | undefined;
  retryable?: boolean;
  errors?: RegistryError['errors'];
  registry?: boolean;
}

export type WorkerReply =
  | { type: 'progress'; event: BlobProgressEvent }
  | { type: 'received'; id: number }
  | { type: 'done'; id: number; digest: string; size: number }
  | { type: 'failed'; id: number; error: WireError };

function unwire(e: WireError): Error {
  if (e.registry) return new RegistryError(e.code!, e.message, { hint: e.hint, status: e.status, retryable: e.retryable ?? false, errors: e.errors ?? [] });
  if (e.code !== undefined) return new KilnError(e.code, e.message, { hint: e.hint });
  return new Error(e.message);
}

/**
 * The worker script beside this module, with this module's extension: `.ts` when running from
 * source under tsx, `.js` from tsc's output. The esbuild bundle has none beside its chunks, and
 * then blobs download on the main thread.
 */
const WORKER_URL = new URL(`./blob-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

function spawn(): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new (workerThreads().Worker)(WORKER_URL);
  // Node 20 does not apply the parent's `--import tsx` loader hooks to a worker's entry module,
  // so the worker registers tsx itself before importing the TypeScript entry.
  const code = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new (workerThreads().Worker)(code, { eval: true });
}

interface Pending {
  received: () => void;
  resolve: (r: { digest: string; size: number }) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Pending>;
}

/**
 * Up to `size` worker threads that download blobs (blob-worker.ts), several at once each, so a
 * pull of big layers spreads over the cores instead of running every socket read and hash on
 * the main thread. Each thread costs its own load of the HTTP client (~0.5 s of CPU), so the
 * pool stays small: a job goes to a new thread only while every thread is busy.
 */
export class BlobWorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 0;

  private constructor(private readonly size: number) {}

  /** A pool, or undefined when there is no worker script to run (the bundle). */
  static create(size: number): BlobWorkerPool | undefined {
    return existsSync(fileURLToPath(WORKER_URL)) ? new BlobWorkerPool(size) : undefined;
  }

  private pick(): Slot {
    const least = this.slots.reduce<Slot | undefined>((a, b) => (a && a.jobs.size <= b.jobs.size ? a : b), undefined);
    if (least && (least.jobs.size === 0 || this.slots.length >= this.size)) return least;
    const slot: Slot = { worker: spawn(), jobs: new Map() };
    slot.worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'progress') return publishBlob(reply.event);
      const pending = slot.jobs.get(reply.id);
      if (reply.type === 'received') return pending?.received();
      slot.jobs.delete(reply.id);
      if (reply.type === 'done') pending?.resolve({ digest: reply.digest, size: reply.size });
      else pending?.reject(unwire(reply.error));
    });
    const lost = (err: Error) => {
      const i = this.slots.indexOf(slot);
      if (i !== -1) this.slots.splice(i, 1);
      for (const pending of slot.jobs.values()) pending.reject(err);
      slot.jobs.clear();
    };
    slot.worker.once('error', lost);
    slot.worker.once('exit', (code) => lost(new KilnError('E_REGISTRY_WORKER', `a blob download thread exited (code ${code}) in the middle of a download`)));
    this.slots.push(slot);
    return slot;
  }

  /**
   * Downloads `job`'s blob into `job.path` (fsynced), resolving with what the bytes hash to;
   * `received` is called once the last byte has arrived, before the fsync.
   */
  download(job: Omit<BlobJob, 'id'>, received: () => void): Promise<{ digest: string; size: number }> {
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { received, resolve, reject });
      slot.worker.postMessage({ ...job, id } satisfies BlobJob);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }
}
