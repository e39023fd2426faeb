import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCompressor, createDecompressor, DigestStream } from '../layer/index.js';
import type { ContentStore } from './content.js';
import { CorruptLayerError } from './errors.js';
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

/** The gzip level of the copies exports keep: a build that gzips its layers itself uses it too, so both make the same blobs. */
export const DEFAULT_GZIP_LEVEL = DEFAULT_LEVEL.gzip!;

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
      layers.push(oci ? { ...l, mediaType: ociMediaTypeOf(l.mediaType) } : l);
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
  // Kept with the image it comes from, as the copies it lists are: a pushed digest stays resolvable here.
  if (spec.level === undefined) store.addRefs(image.manifestDigest, [digest]);
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

/** A kept layer's media type in an OCI manifest: its own, or the OCI name of a Docker one (foreign layers stay non-distributable). */
function ociMediaTypeOf(mediaType: string): string {
  if (mediaType === MediaType.dockerForeignLayerGzip) return MediaType.ociLayerNondistributableGzip;
  return mediaType.startsWith('application/vnd.docker.') ? ociLayerMediaType(layerCompression(mediaType)) : mediaType;
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
  const known = reusable ? store.layerVariant(layer.digest, names) : undefined;
  // Held for this process from here, as every blob it writes is: the GC of another cannot take it mid-push.
  if (known && (await store.hasBlob(known.digest))) return known;
  const source = store.openBlob(layer.digest);
  const tar = new DigestStream();
  // Fails the blob's stream before its end, so that the store never takes a copy of a wrong tar.
  const checked = new Transform({
    transform: (chunk, _enc, done) => done(null, chunk),
    flush: (done) => done(tar.digest === layer.diffID ? null : new CorruptLayerError(layer.digest, tar.digest, layer.diffID)),
  });
  const out = new PassThrough();
  // Both settle before a failure is thrown, so the store has removed its temp file by then.
  const [written, piped] = await Promise.allSettled([
    store.writeBlob(out, { mediaType: ociLayerMediaType(spec.compression) }),
    pipeline(source, createDecompressor(layerCompression(layer.mediaType)), tar, createCompressor(spec.compression, spec.level ?? DEFAULT_LEVEL[spec.compression]), checked, out),
  ]);
  if (piped.status === 'rejected') throw piped.reason;
  if (written.status === 'rejected') throw written.reason;
  if (reusable) store.addRefs(layer.digest, [written.value.digest]);
  return written.value;
}
