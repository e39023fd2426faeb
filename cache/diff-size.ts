import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecompressor, type Compression } from '../oci/index.js';

function compressionOf(mediaType: string): Compression {
  if (mediaType.includes('zstd')) return 'zstd';
  if (mediaType.includes('gzip')) return 'gzip';
  return 'none';
}

/** Bytes of a layer blob's uncompressed tar, counted while streaming through the decompressor. */
export async function uncompressedSize(blob: Readable, mediaType: string): Promise<number> {
  let size = 0;
  await pipeline(blob, createDecompressor(compressionOf(mediaType)), async (tar: AsyncIterable<Buffer>) => {
    for await (const chunk of tar) size += chunk.length;
  });
  return size;
}
