import { availableParallelism } from 'node:os';
import { PassThrough, type Transform } from 'node:stream';
import { constants as zlib, createGunzip, createGzip } from 'node:zlib';
import { CompressStream, DecompressStream } from 'zstd-napi';
import type { LayerCompression } from './media-types.js';

/**
 * Layer (de)compression for import and load. The parameters equal oci/layer's packLayer, so the
 * same tar gives the same blob (and image digest) whichever path made it.
 */
export function compressor(c: LayerCompression): Transform {
  if (c === 'gzip') return createGzip({ level: zlib.Z_DEFAULT_COMPRESSION, memLevel: 9, chunkSize: 64 * 1024 });
  if (c === 'zstd') return new CompressStream({ compressionLevel: 3, nbWorkers: Math.max(1, availableParallelism()) });
  return new PassThrough();
}

export function decompressor(c: LayerCompression): Transform {
  if (c === 'gzip') return createGunzip({ chunkSize: 64 * 1024 });
  if (c === 'zstd') return new DecompressStream();
  return new PassThrough();
}
