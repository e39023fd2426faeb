import { closeSync, createWriteStream, fsyncSync, openSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BULK_WRITE_BUFFER } from './bulk-write.js';
import { asNoSpaceError } from './errors.js';

/**
 * How blobs arrive in the store: a new file at `path` (never one already there, nor through a
 * link put in its place), fsynced before it closes, buffered for bulk data. The store's own writes
 * and the registry client's downloads (which may run on a thread) both open it this way.
 */
export function createDurableFile(path: string): WriteStream {
  return createWriteStream(path, { flags: 'wx', mode: 0o644, flush: true, highWaterMark: BULK_WRITE_BUFFER });
}

/**
 * Removes what a failed write left at `path` and gives the error to throw: a stream's write error
 * names no path, so a full disk is reported as the directory the user must free.
 */
export async function discardPartialFile(path: string, cause: unknown): Promise<unknown> {
  await rm(path, { force: true });
  return asNoSpaceError(cause, dirname(path)) ?? cause;
}

/**
 * A durable file (as createDurableFile makes) written whole from memory on this thread: for a few
 * KiB, the open, write, fsync and close take less than the four thread-pool trips of a stream.
 * A failure removes the partial file and throws what discardPartialFile gives.
 */
export function writeDurableFileSync(path: string, data: Uint8Array): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx', 0o644);
    writeFileSync(fd, data);
    fsyncSync(fd);
  } catch (e) {
    if (fd !== undefined) rmSync(path, { force: true });
    throw asNoSpaceError(e, dirname(path)) ?? e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
