// Public API of oci/image: OCI/Docker image documents, media types, digests, platforms,
// `docker import`-style rootfs import, and image archives (OCI layout / docker-archive) save and load.
export * from './types.js';
export * from './media-types.js';
export * from './digest.js';
export * from './platform.js';
export { spoolArchive } from './spool.js';
export { sniffCompression } from './stream-util.js';
export { applyChanges } from './changes.js';
export { healthConfig } from './health.js';
export { omitEmptyConfig } from './omit-empty.js';
export type { ContentStore } from './content.js';
export { ArchiveError, ChangeError } from './errors.js';
export { buildManifest } from './manifest.js';
export { DEFAULT_PATH, importRootfs, type ImportedImage, type ImportOptions } from './import-rootfs.js';
export { saveImages, type ArchivedManifest, type ArchiveFormat, type SaveImage } from './save.js';
export { DEFAULT_GZIP_LEVEL, DEFAULT_LAYER_EXPORT, exportLayer, exportLayers, type ExportableImage, type LayerExport } from './convert.js';
export { CompressionOptionError, LAYER_EXPORT_KEYS, layerExportFields, layerExportOf, parseLayerExport } from './layer-export-options.js';
export { loadArchive, type LoadedImage } from './load.js';
export { importLayoutImage, OCI_LAYOUT_SCHEME, parseLayoutRef, type LayoutImage, type LayoutRef } from './layout-dir.js';
export { creationTime, rfc3339 } from './time.js';
