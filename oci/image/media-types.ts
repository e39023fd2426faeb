/** Media types kiln reads and writes: the OCI ones it produces, and the Docker ones it must accept. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export type LayerCompression = 'none' | 'gzip' | 'zstd';

const COMPRESSION_NAMES = new Map<string, LayerCompression>([
  ['gzip', 'gzip'],
  ['zstd', 'zstd'],
  ['uncompressed', 'none'],
]);

/** The layer compression a user names (`kiln import --compression`, the import API's `compression`). */
export function layerCompressionNamed(name: string): LayerCompression | undefined {
  return COMPRESSION_NAMES.get(name);
}

export function isIndexMediaType(mt: string | undefined): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}

export function isManifestMediaType(mt: string | undefined): boolean {
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest;
}

export function isLayerMediaType(mt: string): boolean {
  return /^application\/vnd\.(oci\.image\.layer\.|docker\.image\.rootfs\.)/.test(mt);
}

/** How a layer blob of this media type is compressed. */
export function layerCompression(mt: string): LayerCompression {
  if (/(\+|\.)gzip$/.test(mt)) return 'gzip';
  if (/(\+|\.)zstd$/.test(mt)) return 'zstd';
  return 'none';
}

/** The OCI layer media type for a compression. */
export function ociLayerMediaType(c: LayerCompression): string {
  if (c === 'gzip') return MediaType.ociLayerGzip;
  if (c === 'zstd') return MediaType.ociLayerZstd;
  return MediaType.ociLayer;
}
