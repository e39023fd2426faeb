import { closeSync, createReadStream, lstatSync, openSync, readSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import type { DiskUsageCounter } from '../../common/disk-usage.js';
import { Readable } from 'node:stream';
import { LayerError } from './errors.js';
import { BLOCK, encodeHeader, paddingFor, type TarEntryType, type TarHeader } from './tar-format.js';
import { walkTree } from './walk.js';
import { readXattrsSync } from './xattrs.js';

export interface LayerTarOptions {
  /** Clamp every mtime to at most this many seconds since the epoch (`SOURCE_DATE_EPOCH`). */
  sourceDateEpoch?: number;
  /**
   * Treat `dir` as an overlayfs upper dir: 0/0 char devices become `.wh.NAME` whiteouts and
   * `trusted.overlay.opaque=y` dirs get a `.wh..wh..opq` entry. Default true.
   */
  overlayWhiteouts?: boolean;
  /**
   * Counts the disk space `dir` takes (`dir` itself included) on the walk the tar makes anyway: a
   * layer dir's size is then known without walking it again.
   */
  diskUsage?: DiskUsageCounter;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
const READ_CHUNK = 1024 * 1024;
/** Tar bytes prepared ahead of the consumer, so file reads overlap with hashing and compression. */
const READ_AHEAD = 8 * READ_CHUNK;
const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

function entryType(stat: BigIntStats): TarEntryType | undefined {
  if (stat.isFile()) return 'file';
  if (stat.isDirectory()) return 'dir';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isCharacterDevice()) return 'char';
  if (stat.isBlockDevice()) return 'block';
  if (stat.isFIFO()) return 'fifo';
  // Sockets cannot be archived (containerd skips them too).
  return undefined;
}

const major = (rdev: bigint): number => Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
const minor = (rdev: bigint): number => Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));

function parentAndBase(rel: string): [string, string] {
  const slash = rel.lastIndexOf('/');
  return slash === -1 ? ['', rel] : [rel.slice(0, slash + 1), rel.slice(slash + 1)];
}

/** A file's body in the tar: `size` bytes of `path`, as its header announced. */
export interface FileBody {
  path: string;
  size: number;
}

/** The tar as a sequence of ready bytes (headers, padding) and file bodies still to be read. */
export type TarPiece = Buffer | FileBody;

/**
 * The uncompressed layer tar of `dir`'s contents: names relative with no root entry (as
 * containerd/BuildKit emit), depth-first in byte order, PAX for what ustar cannot hold.
 * Files are streamed one at a time as the consumer reads; nothing is buffered whole.
 */
export function createLayerTar(dir: string, options: LayerTarOptions = {}): Readable {
  return tarOfPieces(dir, layerTarPieces(dir, options));
}

/** The tar of `dir` that `pieces` (from layerTarPieces) lay out, as a byte stream. */
export function tarOfPieces(dir: string, pieces: AsyncIterable<TarPiece>): Readable {
  return Readable.from(withLayerErrors(dir, readTarPieces(pieces)), { objectMode: false, highWaterMark: READ_AHEAD });
}

/** The bytes of a tar given as pieces: file bodies are read here, on the thread pool. */
async function* readTarPieces(pieces: AsyncIterable<TarPiece>): AsyncGenerator<Buffer> {
  for await (const piece of pieces) {
    if (Buffer.isBuffer(piece)) yield piece;
    else yield* fileBody(piece.path, piece.size);
  }
}

async function* withLayerErrors(dir: string, source: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* source;
  } catch (err) {
    throw layerIOError(dir, err);
  }
}

/** A failure while writing a layer from `dir`, as the LayerError the caller sees. */
export function layerIOError(dir: string, err: unknown): LayerError {
  if (err instanceof LayerError) return err;
  return new LayerError('E_LAYER_IO', `cannot write a layer from ${dir}: ${(err as Error).message}`, { cause: err });
}

/** A file that had fewer bytes than its tar header announced when its body was read. */
export function changedSizeError(path: string, size: number, read: number): LayerError {
  return new LayerError('E_LAYER_IO', `${path} changed size while it was being archived (${size} -> ${read} bytes)`, {
    hint: 'do not modify the directory while a layer is being written from it',
  });
}

/**
 * The layer tar of `dir` as pieces: every header is encoded here, but file bodies are left for
 * the consumer to read, so it can read them where their bytes are used next.
 */
export async function* layerTarPieces(dir: string, options: LayerTarOptions = {}): AsyncGenerator<TarPiece> {
  const epoch = options.sourceDateEpoch;
  const overlay = options.overlayWhiteouts ?? true;
  const clamp = (mtime: number): number => (epoch !== undefined && mtime > epoch ? epoch : mtime);
  const firstPathOfInode = new Map<string, string>();
  const usage = options.diskUsage;
  usage?.add(lstatSync(dir, { bigint: true }));

  for await (const { rel, abs, stat } of walkTree(dir)) {
    usage?.add(stat);
    const type = entryType(stat);
    if (type === undefined) continue;
    const mtime = clamp(Number(stat.mtimeNs / 1_000_000_000n));

    if (overlay && type === 'char' && stat.rdev === 0n) {
      const [parent, base] = parentAndBase(rel);
      yield encodeHeader(plainHeader(`${parent}${WHITEOUT_PREFIX}${base}`, 'file', 0, epoch ?? mtime));
      continue;
    }

    const xattrs = type === 'symlink' ? undefined : readXattrsSync(abs);
    const header: TarHeader = {
      name: rel,
      type,
      mode: Number(stat.mode & 0o7777n),
      uid: Number(stat.uid),
      gid: Number(stat.gid),
      size: 0,
      mtime,
      linkname: '',
      devmajor: 0,
      devminor: 0,
      xattrs: xattrs?.carried ?? new Map(),
    };

    if (type !== 'dir' && stat.nlink > 1n) {
      const key = `${stat.dev}:${stat.ino}`;
      const first = firstPathOfInode.get(key);
      if (first !== undefined) {
        yield encodeHeader({ ...header, type: 'link', linkname: first, xattrs: new Map() });
        continue;
      }
      firstPathOfInode.set(key, rel);
    }

    if (type === 'symlink') header.linkname = await readlink(abs);
    if (type === 'char' || type === 'block') {
      header.devmajor = major(stat.rdev);
      header.devminor = minor(stat.rdev);
    }
    if (type === 'file') header.size = Number(stat.size);
    yield encodeHeader(header);

    if (type === 'file' && header.size > 0) {
      yield { path: abs, size: header.size };
      const pad = paddingFor(header.size);
      if (pad > 0) yield Buffer.alloc(pad);
    }
    if (type === 'dir' && overlay && xattrs?.opaque === true) {
      yield encodeHeader(plainHeader(`${rel}/${OPAQUE_MARKER}`, 'file', 0, epoch ?? mtime));
    }
  }
  yield END_OF_ARCHIVE;
}

function plainHeader(name: string, type: TarEntryType, mode: number, mtime: number): TarHeader {
  return { name, type, mode, uid: 0, gid: 0, size: 0, mtime, linkname: '', devmajor: 0, devminor: 0, xattrs: new Map() };
}

/** A file's body as its tar header announced it (`size` bytes), or a LayerError if it changed size. */
export async function* fileBody(path: string, size: number): AsyncGenerator<Buffer> {
  let read = 0;
  // Only what the header announced is read, even if the file grows meanwhile. Small files in
  // three syscalls; a stream's four thread-pool trips per file dominate packing many small ones.
  if (size > 0 && size <= READ_CHUNK) {
    const buf = Buffer.allocUnsafe(size);
    const fd = openSync(path, 'r');
    try {
      for (let n = -1; n !== 0 && read < size; read += n) n = readSync(fd, buf, read, size - read, read);
    } finally {
      closeSync(fd);
    }
    if (read === size) yield buf;
  } else if (size > 0) {
    for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK, end: size - 1 })) {
      read += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }
  if (read !== size) throw changedSizeError(path, size, read);
}
