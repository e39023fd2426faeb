import { createWriteStream } from 'node:fs';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BULK_WRITE_BUFFER } from '../../common/bulk-write.js';
import { createDecompressor, detectCompression, type Compression } from '../layer/index.js';
import { peek } from './stream-util.js';

/** How an archive to load starts: gzip or zstd, as `docker save | gzip` makes them, or a plain tar. */
export async function archiveCompression(source: Readable): Promise<{ compression: Compression; stream: Readable }> {
  const { head, stream } = await peek(source, 4);
  return { compression: detectCompression(head), stream };
}

/**
 * Writes an archive to `file` as the plain tar the loader reads (twice), decompressing it as
 * docker load does; `limits` see the plain bytes, so a small compressed body cannot fill the disk.
 */
export async function spoolArchive(stream: Readable, compression: Compression, file: string, ...limits: Transform[]): Promise<void> {
  await pipeline(stream, createDecompressor(compression), ...limits, createWriteStream(file, { highWaterMark: BULK_WRITE_BUFFER }));
}
