/**
 * Image layers: writing a directory as a (compressed) layer tar, and applying layer blobs
 * onto directories, safely.
 *
 * - `createLayerTar(dir, { sourceDateEpoch?, overlayWhiteouts? = true }): Readable` — the uncompressed tar.
 * - `packLayer(dir, { compression, level?, sourceDateEpoch?, overlayWhiteouts? })` -> `{ stream, result }`:
 *   tar, diffID, compression and blob digest in one pass; pipe `stream` into the blob file.
 * - `applyLayer(input, targetDir, { whiteouts?: 'apply' | 'overlay' }): Promise<{ diffID }>`.
 * - `detectCompression(firstBytes)`, `mediaTypeFor(compression)`.
 * Failures are `LayerError`s (codes documented in errors.ts).
 */
export { applyLayer, type ApplyOptions } from './extract.js';
export { detectCompression, mediaTypeFor, type Compression } from './compression.js';
export { LayerError } from './errors.js';
export { packLayer, type PackOptions, type PackedLayer } from './pack.js';
export { createLayerTar, type LayerTarOptions } from './tar-writer.js';
