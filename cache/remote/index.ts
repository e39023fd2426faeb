/**
 * Build cache import and export (`--cache-from`, `--cache-to`): registry refs and OCI layout
 * directories holding a plain OCI manifest whose config (media type
 * `application/vnd.kiln.cache.config.v1+json`) maps cache keys to step records and whose layers
 * are those records' blobs and, with `mounts=true`, the `RUN --mount=type=cache` directories;
 * or inline, in an image config's `kiln.cache.v0` field. Imports are lazy: see BuildCache.
 */
export { BuildCache, type BuildCacheOptions } from './build-cache.js';
export { CacheTransferError } from './errors.js';
export { exportCache, exportCaches, type BuiltImage, type CacheExportResult } from './export.js';
export { CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_FIELD, MOUNT_ANNOTATIONS, PLAIN_LAYER_ANNOTATION, type CacheDocument, type CacheMountEntry, type LayerCacheRecord } from './format.js';
export { loadCacheImport, loadCacheImports, type CacheImportResult, type ImportedCache } from './import.js';
export type { CacheMountUse } from './mounts.js';
export { parseCacheFrom, parseCacheTo, type CacheExportSpec, type CacheImportSpec } from './spec.js';
