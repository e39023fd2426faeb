import { MediaType } from './media-types.js';
import type { Descriptor, ImageManifest } from './types.js';

/**
 * The OCI manifest kiln writes for an image. Every path that makes an image (import, load, build)
 * uses this, so the same config and layer blobs always give the same manifest digest.
 */
export function buildManifest(config: Descriptor, layers: Descriptor[]): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
}
