import { basename } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCompressor, DigestStream } from '../layer/index.js';
import { applyChanges } from './changes.js';
import type { ContentStore } from './content.js';
import { buildManifest } from './manifest.js';
import { MediaType, ociLayerMediaType, type LayerCompression } from './media-types.js';
import { hostPlatform } from './platform.js';
import { tarCheck } from './tar-check.js';
import { creationTime, rfc3339 } from './time.js';
import type { ImageConfig, ImageManifest } from './types.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ImportOptions {
  compression?: LayerCompression;
  /** `--change` instructions, Dockerfile syntax. */
  changes?: string[];
  /** Where the tarball came from, recorded in the history comment (`-` for stdin). */
  source?: string;
  created?: Date;
}

export interface ImportedImage {
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
}

/**
 * Makes a one-layer image from a root filesystem tarball, like `docker import`: the tar itself
 * is the layer (its sha256 is the diffID), compressed while it streams into the store. Input that
 * is not one whole uncompressed tar fails (E_ARCHIVE) and stores nothing.
 */
export async function importRootfs(store: ContentStore, tar: Readable, opts: ImportOptions = {}): Promise<ImportedImage> {
  const compression = opts.compression ?? 'gzip';
  // Bad --change instructions fail before any data is read.
  const containerConfig = applyChanges({ Env: [`PATH=${DEFAULT_PATH}`] }, opts.changes ?? []);
  const diff = new DigestStream();
  const out = new PassThrough();
  const check = tarCheck(opts.source === undefined || opts.source === '-' ? 'stdin' : opts.source);
  const [, blob] = await Promise.all([pipeline(tar, check, diff, createCompressor(compression), out), store.writeBlob(out, { mediaType: ociLayerMediaType(compression) })]);
  const created = rfc3339(opts.created ?? creationTime());
  const platform = hostPlatform();
  const config: ImageConfig = {
    architecture: platform.architecture,
    config: containerConfig,
    created,
    history: [{ created, created_by: 'kiln import', comment: `Imported from ${opts.source === undefined ? '-' : basename(opts.source)}` }],
    os: platform.os,
    rootfs: { type: 'layers', diff_ids: [diff.digest] },
  };
  const c = await store.writeBlobBuffer(JSON.stringify(config), { mediaType: MediaType.ociConfig });
  const manifest = buildManifest({ mediaType: MediaType.ociConfig, ...c }, [{ mediaType: ociLayerMediaType(compression), ...blob }]);
  const m = await store.writeBlobBuffer(JSON.stringify(manifest), { mediaType: MediaType.ociManifest });
  return { manifestDigest: m.digest, manifest, configDigest: c.digest, config };
}
