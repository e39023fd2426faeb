import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import PQueue from 'p-queue';
import { isKilnError } from '../../common/errors.js';
import { exportLayer, MediaType, type Descriptor, type ImageManifest, type LayerDescriptor, type RegistryOptionsFor } from '../../oci/index.js';
import type { BuildCache } from './build-cache.js';
import { CacheTransferError } from './errors.js';
import { CACHE_CONFIG_MEDIA_TYPE, encodeCacheDocument, manifestLayer, MOUNT_ANNOTATIONS, PLAIN_LAYER_ANNOTATION, type CacheDocument } from './format.js';
import { openLocation } from './location.js';
import { packCacheMounts, type CacheMountUse } from './mounts.js';
import type { CacheExportSpec } from './spec.js';

/** What a build made, as the exporter needs it. */
export interface BuiltImage {
  layers: readonly LayerDescriptor[];
  cacheMounts: readonly CacheMountUse[];
}

export interface CacheExportResult {
  /** `host/repo:tag` or `DIR (tag T)`. */
  name: string;
  manifestDigest: string;
  records: number;
  mounts: number;
}

const UPLOADS_AT_ONCE = 3;

/**
 * Writes the build's cache to a registry ref or an OCI layout dir as one plain OCI image
 * manifest: config = the records (and cache mounts) in kiln's cache media type, layers = the
 * records' layer blobs (gzipped copies of those stored plain, each annotated with the plain
 * layer's digest), then the cache mounts' layers annotated with their id, uid, gid and mode.
 * Blobs go first; the tag is moved last.
 */
export async function exportCache(cache: BuildCache, image: BuiltImage, spec: Exclude<CacheExportSpec, { type: 'inline' }>, optionsFor: RegistryOptionsFor): Promise<CacheExportResult> {
  const location = await openLocation(spec.type === 'registry' ? spec : { type: 'local', dir: spec.dest, tag: spec.tag }, optionsFor);
  try {
    const store = cache.store;
    const records = cache.records(spec.mode, image.layers);
    const mounts = spec.mounts ? await packCacheMounts(store, image.cacheMounts) : [];
    const layers = new Map<string, Descriptor>();
    // Records keep naming the plain layers; what travels is their compressed copy, which says whose it is.
    for (const r of records.values()) {
      if (layers.has(r.layer.digest)) continue;
      const remote = cache.remoteCarrier(r.layer.digest);
      const sent = remote ? { ...remote, diffID: r.layer.diffID } : await exportLayer(store, r.layer);
      layers.set(r.layer.digest, manifestLayer(sent, sent.digest === r.layer.digest ? undefined : { [PLAIN_LAYER_ANNOTATION]: r.layer.digest }));
    }
    for (const m of mounts) {
      const annotations = { [MOUNT_ANNOTATIONS.id]: m.id, [MOUNT_ANNOTATIONS.uid]: String(m.uid), [MOUNT_ANNOTATIONS.gid]: String(m.gid), [MOUNT_ANNOTATIONS.mode]: m.mode.toString(8) };
      layers.set(m.layer.digest, manifestLayer(m.layer, annotations));
    }
    const doc: CacheDocument = { records: Object.fromEntries(records), ...(mounts.length ? { mounts } : {}) };
    const configBytes = encodeCacheDocument(doc);
    const config: Descriptor = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha256(configBytes), size: configBytes.length };

    const queue = new PQueue({ concurrency: UPLOADS_AT_ONCE });
    await Promise.all([...layers.values()].map((d) => queue.add(() => location.writeBlob(d, () => store.openBlob(d.digest)))));
    await location.writeBlob(config, () => Readable.from([configBytes]));
    const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [...layers.values()] };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const manifestDigest = sha256(bytes);
    await location.writeManifest({ bytes, digest: manifestDigest, mediaType: MediaType.ociManifest });
    return { name: location.name, manifestDigest, records: records.size, mounts: mounts.length };
  } catch (e) {
    throw new CacheTransferError('E_CACHE_EXPORT', `cannot export the build cache to ${location.name}: ${(e as Error).message}`, {
      cause: e,
      ...(isKilnError(e) && e.hint ? { hint: e.hint } : {}),
    });
  } finally {
    await location.close();
  }
}

/**
 * Every `--cache-to` but inline (which the image config carries), in order. A failure fails the
 * build, unless that spec says `ignore-error=true`: then it is a warning.
 */
export async function exportCaches(cache: BuildCache, image: BuiltImage, specs: readonly CacheExportSpec[], optionsFor: RegistryOptionsFor): Promise<{ exported: CacheExportResult[]; warnings: string[] }> {
  const exported: CacheExportResult[] = [];
  const warnings: string[] = [];
  for (const spec of specs) {
    if (spec.type === 'inline') continue;
    try {
      exported.push(await exportCache(cache, image, spec, optionsFor));
    } catch (e) {
      if (!spec.ignoreError) throw e;
      warnings.push((e as Error).message);
    }
  }
  return { exported, warnings };
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}
