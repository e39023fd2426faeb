import { createWriteStream } from 'node:fs';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BULK_WRITE_BUFFER } from '../../common/bulk-write.js';
import { createDecompressor, type Compression } from '../layer/index.js';

/**
 * Writes an archive to `file` as the plain tar the loader reads (twice), decompressing it as
 * docker load does; `limits` see the plain bytes, so a small compressed body cannot fill the disk.
 */
export async function spoolArchive(stream: Readable, compression: Compression, file: string, ...limits: Transform[]): Promise<void> {
  await pipeline(stream, createDecompressor(compression), ...limits, createWriteStream(file, { highWaterMark: BULK_WRITE_BUFFER }));
}
