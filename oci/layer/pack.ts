import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCompressor, mediaTypeFor, type Compression } from './compression.js';
import { DigestStream } from './digest-stream.js';
import { createLayerTar, type LayerTarOptions } from './tar-writer.js';

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
}

/**
 * Tars, hashes and compresses `dir` in one pass. The caller pipes `stream` to where the blob
 * goes; `result` settles once the stream has been fully read (and rejects if anything failed).
 */
export function packLayer(dir: string, options: PackOptions): { stream: Readable; result: Promise<PackedLayer> } {
  const tarDigest = new DigestStream();
  const blobDigest = new DigestStream();
  const out = new PassThrough();
  const done = pipeline(createLayerTar(dir, options), tarDigest, createCompressor(options.compression, options.level), blobDigest, out);
  const result = done.then(
    () => ({
      diffID: tarDigest.digest,
      digest: blobDigest.digest,
      size: blobDigest.size,
      uncompressedSize: tarDigest.size,
      mediaType: mediaTypeFor(options.compression),
    }),
    (err: unknown) => {
      out.destroy(err as Error);
      throw err;
    },
  );
  // The consumer sees failures on `stream`; keep an unobserved `result` from crashing the process.
  result.catch(() => undefined);
  return { stream: out, result };
}
