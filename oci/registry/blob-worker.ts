/**
 * Worker-thread entry (see blob-pool.ts): downloads blobs into temp files of the store, so the
 * socket reads, HTTP parsing, sha256 and the garbage of the read buffers stay off the main thread.
 * Jobs run concurrently; the client of a registry is kept for the worker's later jobs.
 */
import { subscribe } from 'node:diagnostics_channel';
import { parentPort } from 'node:worker_threads';
import { isKilnError } from '../../common/errors.js';
import type { BlobJob, WireError, WorkerReply } from './blob-pool.js';
import { RegistryClient } from './client.js';
import { RegistryError } from './errors.js';
import { BLOB_CHANNEL, type BlobProgressEvent } from './progress.js';

const port = parentPort!;
const clients = new Map<string, Promise<RegistryClient>>();
/** A progress message per MiB is plenty for a progress bar, and 16x fewer than socket chunks. */
const PROGRESS_STEP = 1024 * 1024;
/** Bytes last reported, per digest being downloaded for a main thread that listens. */
const reported = new Map<string, number>();

subscribe(BLOB_CHANNEL, (message) => {
  const event = message as BlobProgressEvent;
  const last = reported.get(event.digest);
  if (last === undefined) return;
  if (event.state === 'progress') {
    if (event.transferred - last < PROGRESS_STEP && event.transferred !== event.size) return;
    reported.set(event.digest, event.transferred);
  }
  port.postMessage({ type: 'progress', event } satisfies WorkerReply);
});

function client(job: BlobJob): Promise<RegistryClient> {
  const key = JSON.stringify([job.registry, job.options]);
  let c = clients.get(key);
  if (!c) {
    const options = job.session.credentials === undefined ? job.options : { ...job.options, credentials: job.session.credentials };
    c = RegistryClient.connect(job.registry, options).then((rc) => {
      rc.adopt(job.session);
      return rc;
    });
    clients.set(key, c);
  }
  return c;
}

async function download(job: BlobJob): Promise<{ digest: string; size: number }> {
  const rc = await client(job);
  return rc.downloadBlob(job.repository, job.digest, job.size, job.path, () => port.postMessage({ type: 'received', id: job.id } satisfies WorkerReply));
}

function wire(err: unknown): WireError {
  if (err instanceof RegistryError) return { message: err.message, code: err.code, hint: err.hint, status: err.status, retryable: err.retryable, errors: err.errors, registry: true };
  if (isKilnError(err)) return { message: err.message, code: err.code, hint: err.hint };
  return { message: err instanceof Error ? err.message : String(err) };
}

port.on('message', (job: BlobJob) => {
  if (job.progress) reported.set(job.digest, 0);
  download(job)
    .then(
      (result) => port.postMessage({ type: 'done', id: job.id, ...result } satisfies WorkerReply),
      (err: unknown) => port.postMessage({ type: 'failed', id: job.id, error: wire(err) } satisfies WorkerReply),
    )
    .finally(() => reported.delete(job.digest));
});
