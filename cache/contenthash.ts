import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { nowNs, type FileRecords, type FileStat } from './stat-cache.js';
import { EventLoopSlice } from '../common/event-loop-slice.js';

/** Files up to this size are read whole; larger ones are streamed so memory stays bounded. */
const READ_WHOLE_MAX = 1n << 20n;

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

/** What a copy would reproduce of one path: everything but its times. */
export interface EntryMeta {
  type: EntryType;
  /** Permission and special bits (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Content digest for files, link target for symlinks, '' otherwise. */
  content: string;
}

/** `sha256:<hex>` of a big file's bytes, streamed so memory stays bounded. */
async function hashBigFile(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), h);
  return `sha256:${h.digest('hex')}`;
}

/**
 * The buffer synchronous hashing reads into: one for the process, as nothing can interleave with a
 * synchronous read. A buffer per file (readFileSync) made a cold checksum of a 100 MB context
 * allocate and free 100 MB in 10,000 pieces, which the process kept as ~35 MB more RSS.
 */
let syncChunk: Buffer | undefined;

/** `sha256:<hex>` of a file's bytes, read synchronously in 1 MiB chunks (memory stays bounded). */
export function hashFileSync(path: string): string {
  const h = createHash('sha256');
  const buf = (syncChunk ??= Buffer.allocUnsafeSlow(1 << 20));
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return `sha256:${h.digest('hex')}`;
}

/** The digest of one entry's metadata and content, as COPY would reproduce it. */
export function entryDigest(m: EntryMeta): string {
  const h = createHash('sha256');
  h.update(`${m.type}\0${(m.mode & 0o7777).toString(8)}\0${m.uid}\0${m.gid}\0${m.content}`);
  return `sha256:${h.digest('hex')}`;
}

/** One digest for a set of (path, digest) pairs, independent of the order they are given in. */
export function combineDigests(files: Map<string, string>): string {
  // One update of the joined lines: an update per line costs a native call each, 10,000 per context.
  const lines = [...files.keys()].sort().map((key) => `${key}\0${files.get(key)}\n`);
  return `sha256:${createHash('sha256').update(lines.join('')).digest('hex')}`;
}

export interface HashTarget extends FileStat {
  /** Key in the stat cache (path relative to the root). */
  rel: string;
  /** Absolute path to read. */
  path: string;
}

/** How long synchronous hashing may hold the event loop before yielding. */
const SLICE_MS = 15;

/**
 * Brings `known`, a root's stat cache entries (`cache.load(root)`), up to date for the regular
 * files `targets`: a file whose entry cannot vouch for it is read and its entry replaced. Returns
 * how many were read, so the caller knows whether to save `known`. Small files are read
 * synchronously in short slices (for thousands of small files several times faster than the
 * thread pool); large ones are streamed.
 */
export async function hashFiles(known: FileRecords, targets: Iterable<HashTarget>): Promise<number> {
  let read = 0;
  const slice = new EventLoopSlice(SLICE_MS);
  for (const t of targets) {
    if (known.vouchesFor(t.rel, t)) continue;
    const recordedNs = nowNs();
    const digest = t.size <= READ_WHOLE_MAX ? hashFileSync(t.path) : await hashBigFile(t.path);
    const { size, mtimeNs, ctimeNs, ino, dev, mode, uid, gid } = t;
    known.set(t.rel, { size, mtimeNs, ctimeNs, ino, dev, mode, uid, gid, digest, entryDigest: entryDigest({ type: 'file', mode, uid, gid, content: digest }), recordedNs });
    read++;
    if (slice.over) await slice.next();
  }
  return read;
}
