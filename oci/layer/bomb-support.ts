import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { createCompressor, type Compression } from './compression.js';

export interface BombSpec {
  compression: Compression;
  /** One entry of this many zero bytes. */
  zeroBytes?: number;
  /** This many empty files. */
  emptyFiles?: number;
}

/**
 * Writes a decompression bomb to `path`: a tar of zeros or of many empty files, compressed,
 * made as a stream (never whole in memory, so its size costs disk only in compressed form).
 * Test support only.
 */
export async function writeBomb(path: string, spec: BombSpec): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, createCompressor(spec.compression), createWriteStream(path));
  const zero = Buffer.alloc(1024 * 1024);
  if (spec.zeroBytes !== undefined) {
    const size = spec.zeroBytes;
    const body = pack.entry({ name: 'zeros', size, mtime: new Date(0) });
    const zeros = Readable.from(
      (function* () {
        for (let left = size; left > 0; left -= zero.length) yield left >= zero.length ? zero : zero.subarray(0, left);
      })(),
    );
    await pipeline(zeros, body);
  }
  for (let i = 0; i < (spec.emptyFiles ?? 0); i++) {
    await new Promise<void>((resolve, reject) => pack.entry({ name: `f${i}`, mtime: new Date(0) }, '', (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await written;
}
