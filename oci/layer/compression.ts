import { PassThrough, type Transform } from 'node:stream';
import { ParallelGzip } from './parallel-gzip.js';
import { createZstdDecompressStream, ZstdCompressStream } from './zstd-stream.js';
import { zlib } from '../../common/builtins.js';

export type Compression = 'gzip' | 'zstd' | 'none';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** Which compression a layer blob uses, from its first bytes (at least 4 are needed for zstd). */
export function detectCompression(firstBytes: Buffer): Compression {
  if (firstBytes.subarray(0, 2).equals(GZIP_MAGIC)) return 'gzip';
  if (firstBytes.subarray(0, 4).equals(ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/** The OCI layer media type for a compression. */
export function mediaTypeFor(compression: Compression): string {
  switch (compression) {
    case 'gzip':
      return 'application/vnd.oci.image.layer.v1.tar+gzip';
    case 'zstd':
      return 'application/vnd.oci.image.layer.v1.tar+zstd';
    case 'none':
      return 'application/vnd.oci.image.layer.v1.tar';
  }
}

/**
 * zstd's multi-threaded format settings. Workers let zstd compress on other cores while Node reads
 * files, builds the tar and hashes it, as `zstd -T0` does. The output of streaming multi-threaded
 * zstd depends on the job size (and on workers being >= 1), not on how many workers there are or
 * how the input is chunked; both are constants, never derived from the core count, so every
 * machine makes the same blob (and cache key) from the same tar.
 */
const ZSTD_WORKERS = 4;
/** 1 MiB jobs: the same ratio as zstd's 8 MiB default at level 3, on a third less memory. */
const ZSTD_JOB_SIZE = 1024 * 1024;

/** Compression for layer blobs. zstd level 3 matches the zstd CLI default (and BuildKit's). */
export function createCompressor(compression: Compression, level?: number): Transform {
  switch (compression) {
    case 'gzip':
      // Every gzip layer in kiln comes from here, so the same tar always gives the same blob digest.
      return new ParallelGzip(level ?? zlib().constants.Z_DEFAULT_COMPRESSION);
    case 'zstd':
      return new ZstdCompressStream({ level: level ?? 3, workers: ZSTD_WORKERS, jobSize: ZSTD_JOB_SIZE });
    case 'none':
      return new PassThrough();
  }
}

export function createDecompressor(compression: Compression): Transform {
  switch (compression) {
    case 'gzip':
      return zlib().createGunzip({ chunkSize: 64 * 1024 });
    case 'zstd':
      return createZstdDecompressStream();
    case 'none':
      return new PassThrough();
  }
}
