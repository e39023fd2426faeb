import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCompressor, createDecompressor, DigestStream } from '../layer/index.js';
import type { ContentStore } from './content.js';
import { ArchiveError } from './errors.js';
import { layerCompression, MediaType, ociLayerMediaType, type LayerCompression } from './media-types.js';
import type { Descriptor, ImageManifest, LayerDescriptor } from './types.js';

/**
 * How an image's layers leave the store (`--output ...,compression=,compression-level=,
 * force-compression=`, as in docker buildx). The layers builds make are stored uncompressed:
 * a build never waits for a compressor, as BuildKit's into dockerd's store never does, and a push
 * or an archive compresses them on the way out.
 */
export interface LayerExport {
  compression: LayerCompression;
  /** zlib or zstd level; without it, DEFAULT_LEVEL, and the blob is kept for the next export. */
  level?: number;
  /** Also recompress layers already compressed otherwise (a base image's gzip layers for zstd, say). */
  force?: boolean;
}

/**
 * gzip level 1: on a 10,000-file context it compresses 3-4x faster than zlib's default 6 for
 * blobs ~20% larger, about the trade BuildKit's Go gzip makes at its default level. zstd 3 is
 * the zstd CLI's default, and BuildKit's.
 */
const DEFAULT_LEVEL: Record<LayerCompression, number | undefined> = { gzip: 1, zstd: 3, none: undefined };

/** What pushes and OCI archives do unless told otherwise: gzip what is stored uncompressed. */
export const DEFAULT_LAYER_EXPORT: LayerExport = { compression: 'gzip' };

/** The parts of an image an export changes. */
export interface ExportableImage {
  manifestDigest: string;
  manifest: ImageManifest;
  layers: LayerDescriptor[];
}

/**
 * The image as `spec` wants it exported: the same object when no layer changes, else one whose
 * layers are compressed as asked and whose manifest (stored, so pushes and archives read it like
 * any other) lists them. A Docker manifest becomes an OCI one for zstd, which Docker's schema has
 * no media type for (as BuildKit does). The image id (config digest) never changes.
 */
export async function exportLayers<T extends ExportableImage>(store: ContentStore, image: T, spec: LayerExport = DEFAULT_LAYER_EXPORT): Promise<T> {
  const convert = (l: LayerDescriptor): boolean => {
    const has = layerCompression(l.mediaType);
    return has !== spec.compression && (spec.force === true || has === 'none');
  };
  if (!image.layers.some(convert)) return image;
  const oci = image.manifest.mediaType !== MediaType.dockerManifest || spec.compression === 'zstd';
  const layers: LayerDescriptor[] = [];
  for (const l of image.layers) {
    if (!convert(l)) {
      layers.push(oci ? { ...l, mediaType: ociLayerMediaType(layerCompression(l.mediaType)) } : l);
      continue;
    }
    const blob = await compressedCopy(store, l, spec);
    layers.push({ ...l, mediaType: oci ? ociLayerMediaType(spec.compression) : dockerLayerMediaType(spec.compression), digest: blob.digest, size: blob.size });
  }
  const manifest: ImageManifest = {
    ...image.manifest,
    ...(oci ? { mediaType: MediaType.ociManifest, config: { ...image.manifest.config, mediaType: MediaType.ociConfig } } : {}),
    layers: layers.map((l, i) => manifestLayer(image.manifest.layers[i], l)),
  };
  const { digest } = await store.writeBlobBuffer(JSON.stringify(manifest), { mediaType: manifest.mediaType ?? MediaType.ociManifest });
  return { ...image, manifestDigest: digest, manifest, layers };
}

/**
 * One layer as an export sends it: itself when it is compressed already (or `spec` wants it
 * plain), else its compressed copy, as an OCI layer (a build cache's layers, say).
 */
export async function exportLayer(store: ContentStore, layer: LayerDescriptor, spec: LayerExport = DEFAULT_LAYER_EXPORT): Promise<LayerDescriptor> {
  if (layerCompression(layer.mediaType) !== 'none' || spec.compression === 'none') return layer;
  const blob = await compressedCopy(store, layer, spec);
  return { ...layer, mediaType: ociLayerMediaType(spec.compression), digest: blob.digest, size: blob.size };
}

function dockerLayerMediaType(c: LayerCompression): string {
  return c === 'gzip' ? MediaType.dockerLayerGzip : MediaType.dockerLayer;
}

/** The manifest's entry for a converted layer: the old entry's annotations and URLs, the new blob. */
function manifestLayer(old: Descriptor | undefined, l: LayerDescriptor): Descriptor {
  const { diffID: _diffID, ...blob } = l;
  return { ...old, mediaType: blob.mediaType, digest: blob.digest, size: blob.size };
}

/**
 * `layer`'s tar compressed as `spec` says, from the store when it was made before at the default
 * level. The tar is checked against the layer's diffID on the way, so a damaged blob is never
 * passed on under a good name.
 */
async function compressedCopy(store: ContentStore, layer: LayerDescriptor, spec: LayerExport): Promise<{ digest: string; size: number }> {
  const names = spec.compression === 'none' ? [MediaType.ociLayer, MediaType.dockerLayer] : [ociLayerMediaType(spec.compression), ...(spec.compression === 'gzip' ? [MediaType.dockerLayerGzip] : [])];
  const reusable = spec.level === undefined;
  if (reusable) {
    const known = await store.layerVariant(layer.digest, names);
    if (known) return known;
  }
  const tar = new DigestStream();
  const out = new PassThrough();
  const [written] = await Promise.all([
    store.writeBlob(out, { mediaType: ociLayerMediaType(spec.compression) }),
    pipeline(store.openBlob(layer.digest), createDecompressor(layerCompression(layer.mediaType)), tar, createCompressor(spec.compression, spec.level ?? DEFAULT_LEVEL[spec.compression]), out),
  ]);
  if (tar.digest !== layer.diffID) {
    throw new ArchiveError(`layer ${layer.digest} uncompresses to ${tar.digest}, but the image config says ${layer.diffID}`, {
      hint: 'the stored image is inconsistent; pull, load or build it again',
    });
  }
  if (reusable) store.recordLayerVariant(layer.digest, written.digest);
  return written;
}
