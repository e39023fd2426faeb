/**
 * Image layers: writing a directory as a (compressed) layer tar, and applying layer blobs
 * onto directories, safely. Failures are `LayerError`s with stable codes (see errors.ts).
 *
 * - `createLayerTar(dir: string, options?: LayerTarOptions): Readable`
 *   The uncompressed layer tar of `dir`'s contents: relative names, no root entry, depth-first
 *   in byte order, PAX for long/non-ASCII names, big ids and `SCHILY.xattr.*` (binary-safe);
 *   hard links as links to the first path; overlayfs whiteouts (0/0 char devices, opaque xattr)
 *   as `.wh.NAME` / `.wh..wh..opq` unless `overlayWhiteouts: false`; mtimes clamped to
 *   `sourceDateEpoch` when given.
 * - `packLayer(dir: string, options: PackOptions): { stream: Readable; result: Promise<PackedLayer> }`
 *   Tar, diffID, gzip/zstd/none compression and blob digest in one pass; pipe `stream` where the
 *   blob goes, then await `result` ({ diffID, digest, size, uncompressedSize, mediaType }).
 * - `packSmallLayer(dir, options): Promise<{ blob: Buffer; layer: PackedLayer } | undefined>`
 *   The same for a gzip layer whose tar is at most 256 KiB, made in memory in one go; undefined otherwise.
 * - `expectLayer({ bytes, files })`: a pack of about that size is coming; starts what it will need.
 * - `applyLayer(input: Readable, targetDir: string, options?: ApplyOptions): Promise<{ diffID: string }>`
 *   Detects gzip/zstd/plain by magic bytes; `whiteouts: 'apply'` (default) flattens onto a tree,
 *   `'overlay'` writes overlayfs whiteouts for a lower dir. Refuses (E_LAYER_UNSAFE_PATH) any
 *   entry that would land outside `targetDir`. Bounded against decompression bombs by `limits`
 *   (default `extractLimitsFromEnv()`: KILN_EXTRACT_MAX_BYTES / _ENTRIES / _RATIO): E_LAYER_TOO_LARGE,
 *   E_LAYER_TOO_MANY_ENTRIES, E_LAYER_RATIO.
 * - `detectCompression(firstBytes: Buffer): Compression`, `mediaTypeFor(compression: Compression): string`.
 * - `createCompressor(compression: Compression, level?: number): Transform`, `createDecompressor(compression: Compression): Transform`:
 *   the streams packLayer and applyLayer use, for code that (de)compresses layer blobs itself.
 */
export { applyLayer, type ApplyOptions } from './extract.js';
export { DEFAULT_EXTRACT_LIMITS, extractLimitsFromEnv, isExtractLimitError, type ExtractLimits } from './extract-limits.js';
export { createCompressor, createDecompressor, detectCompression, mediaTypeFor, type Compression } from './compression.js';
export { DigestStream } from './digest-stream.js';
export { LayerError } from './errors.js';
export { expectLayer, packLayer, packSmallLayer, type PackOptions, type PackedLayer } from './pack.js';
export { createLayerTar, type LayerTarOptions } from './tar-writer.js';
export { readXattrsSync, type FileXattrs } from './xattrs.js';
