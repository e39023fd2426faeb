import { once } from 'node:events';
import { DiskUsageCounter } from '../../common/disk-usage.js';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { zlib } from '../../common/builtins.js';
import { createCompressor, mediaTypeFor, type Compression } from './compression.js';
import { DigestStream } from './digest-stream.js';
import { sha256Digest } from '../image/digest.js';
import { gzipBlockSync } from './parallel-gzip.js';
import { fileBody, layerIOError, layerTarPieces, tarOfPieces, type LayerTarOptions, type TarPiece } from './tar-writer.js';
import { prewarmTarThread, TarThread } from './tar-thread.js';

export interface PackOptions extends LayerTarOptions {
  compression: Compression;
  /** Compression level; zstd defaults to 3, gzip to zlib's default (6). */
  level?: number;
}

export interface PackedLayer {
  /** Digest of the uncompressed tar (the image config's `rootfs.diff_ids`). */
  diffID: string;
  /** Digest of the blob as written to `stream` (the manifest's layer digest). */
  digest: string;
  /** Blob size in bytes. */
  size: number;
  uncompressedSize: number;
  mediaType: string;
  /** Disk space the packed directory takes (see LayerTarOptions.diskUsage). */
  diskBytes: number;
}

/** A tar at least this big is read and hashed on a thread; a smaller one would not repay its start. */
const THREAD_AFTER = 8 * 1024 * 1024;
/** A walk this long goes to the thread however small its files: it has that many files to read. */
const THREAD_AFTER_PIECES = 4096;

/** A plain or gzip layer whose tar is at most this big is packed in memory (packSmallLayer). */
const SMALL_LAYER = 256 * 1024;

/** Tar pieces per file, at most: header, body, padding. */
const PIECES_PER_FILE = 3;

/**
 * Says a layer of about this many file bytes and files is about to be packed (a COPY of that
 * much): if it will be packed on a thread, the thread is started now, on another core while the
 * files are still being written, rather than when the pack begins (the ~25 ms start, and its CPU
 * taken from the pack, were on a one-file-change rebuild's critical path). True for such a big layer.
 */
export function expectLayer(size: { bytes: number; files: number }): boolean {
  const big = size.bytes >= THREAD_AFTER || size.files * PIECES_PER_FILE >= THREAD_AFTER_PIECES;
  if (big) prewarmTarThread();
  return big;
}

/**
 * Tars, hashes and compresses `dir` in one pass. The caller pipes `stream` to where the blob
 * goes; `result` settles once the stream has been fully read (and rejects if anything failed).
 */
export function packLayer(dir: string, options: PackOptions): { stream: Readable; result: Promise<PackedLayer> } {
  const compressor = createCompressor(options.compression, options.level);
  // A plain tar's blob is the tar: its digest is known without hashing the bytes a second time.
  const blobDigest = options.compression === 'none' ? undefined : new DigestStream();
  const toBlob = blobDigest ? [compressor, blobDigest] : [compressor];
  const out = new PassThrough();
  const failed = new AbortController();
  const usage = new DiskUsageCounter();
  const packed = (tar: { digest: string; size: number }): PackedLayer => ({
    diffID: tar.digest,
    digest: blobDigest?.digest ?? tar.digest,
    size: blobDigest?.size ?? tar.size,
    uncompressedSize: tar.size,
    mediaType: mediaTypeFor(options.compression),
    diskBytes: usage.bytes,
  });
  const done = (async () => {
    const walk = layerTarPieces(dir, { ...options, diskUsage: usage });
    const ahead = await lookAhead(dir, walk);
    const pieces = prepend(ahead.pieces, walk);
    if (ahead.ended) {
      const tarDigest = new DigestStream();
      await pipeline([tarOfPieces(dir, pieces), tarDigest, ...toBlob, out]);
      return packed(tarDigest);
    }
    const tar = new TarThread(dir, pieces);
    await Promise.all([feed(tar, compressor, options.compression, failed.signal), pipeline([...toBlob, out])]);
    return packed(tar);
  })();
  const result = done.catch((err: unknown) => {
    failed.abort();
    // Without an error: before the walk ended nothing listens for the compressor's errors.
    compressor.destroy();
    out.destroy(err as Error);
    throw err;
  });
  // The consumer sees failures on `stream`; keep an unobserved `result` from crashing the process.
  result.catch(() => undefined);
  return { stream: out, result };
}

/**
 * The blob of a plain or gzip layer whose tar is at most SMALL_LAYER bytes, made in memory in one
 * go, the same bytes packLayer streams; undefined for a bigger layer (or zstd), for packLayer.
 * Most RUN steps leave a few small files: their pipeline of streams took a dozen thread-pool
 * trips, which at a build's end queued behind the other steps' work (~10 ms for a layer of one
 * small file, on the build's critical path).
 */
export async function packSmallLayer(dir: string, options: PackOptions): Promise<{ blob: Buffer; layer: PackedLayer } | undefined> {
  if (options.compression === 'zstd') return undefined;
  const usage = new DiskUsageCounter();
  const parts: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const piece of layerTarPieces(dir, { ...options, diskUsage: usage })) {
      bytes += Buffer.isBuffer(piece) ? piece.length : piece.size;
      if (bytes > SMALL_LAYER) return undefined;
      if (Buffer.isBuffer(piece)) parts.push(piece);
      else for await (const chunk of fileBody(piece.path, piece.size)) parts.push(chunk);
    }
  } catch (err) {
    throw layerIOError(dir, err);
  }
  const tar = Buffer.concat(parts, bytes);
  const diffID = sha256Digest(tar);
  const blob = options.compression === 'gzip' ? gzipBlockSync(tar, options.level ?? zlib().constants.Z_DEFAULT_COMPRESSION) : tar;
  const layer: PackedLayer = {
    diffID,
    digest: blob === tar ? diffID : sha256Digest(blob),
    size: blob.length,
    uncompressedSize: tar.length,
    mediaType: mediaTypeFor(options.compression),
    diskBytes: usage.bytes,
  };
  return { blob, layer };
}

/** The walk's first pieces: all of them when the tar is too small for a thread. */
async function lookAhead(dir: string, walk: AsyncGenerator<TarPiece>): Promise<{ pieces: TarPiece[]; ended: boolean }> {
  const pieces: TarPiece[] = [];
  let bytes = 0;
  try {
    while (bytes < THREAD_AFTER && pieces.length < THREAD_AFTER_PIECES) {
      const next = await walk.next();
      if (next.done) return { pieces, ended: true };
      pieces.push(next.value);
      bytes += Buffer.isBuffer(next.value) ? next.value.length : next.value.size;
    }
  } catch (err) {
    throw layerIOError(dir, err);
  }
  return { pieces, ended: false };
}

async function* prepend<T>(first: T[], rest: AsyncIterable<T>): AsyncGenerator<T> {
  yield* first;
  yield* rest;
}

/**
 * Writes the thread's slabs into the compressor, each given back once the compressor is done
 * with it: gzip and zstd have consumed a chunk when its write callback runs, but a PassThrough
 * ('none') hands the very chunk on, so it gets a copy. `failed` stops a wait for 'drain' that
 * a destroyed compressor would never end.
 */
async function feed(tar: TarThread, compressor: Writable, compression: Compression, failed: AbortSignal): Promise<void> {
  for await (const slab of tar.chunks()) {
    let more: boolean;
    if (compression === 'none') {
      more = compressor.write(Buffer.from(slab));
      tar.recycle(slab);
    } else {
      more = compressor.write(slab, (err) => {
        if (!err) tar.recycle(slab);
      });
    }
    if (!more) await once(compressor, 'drain', { signal: failed });
  }
  compressor.end();
}
