import type { Descriptor, ImageManifest, RegistryOptionsFor } from '../../oci/index.js';
import { CacheTransferError } from './errors.js';
import { CACHE_CONFIG_MEDIA_TYPE, INLINE_CACHE_FIELD, parseCacheDocument, PLAIN_LAYER_ANNOTATION, type CacheMountEntry, type LayerCacheRecord } from './format.js';
import { openLocation, type CacheLocation } from './location.js';
import type { CacheImportSpec } from './spec.js';

/** A cache read from `--cache-from`: records and where their blobs are; no blob is fetched yet. */
export interface ImportedCache {
  name: string;
  records: ReadonlyMap<string, LayerCacheRecord>;
  /**
   * Layer blobs the location holds, by digest; a record's plain layer maps to the compressed blob
   * that carries it (a descriptor of another digest), to decompress on fetch.
   */
  blobs: ReadonlyMap<string, Descriptor>;
  mounts: readonly CacheMountEntry[];
  location: CacheLocation;
}

export type CacheImportResult = { cache: ImportedCache } | { warning: string };

/** Every `--cache-from` in order: the caches found, and a warning for each that was not. */
export async function loadCacheImports(specs: readonly CacheImportSpec[], optionsFor: RegistryOptionsFor): Promise<{ caches: ImportedCache[]; warnings: string[] }> {
  const caches: ImportedCache[] = [];
  const warnings: string[] = [];
  try {
    for (const spec of specs) {
      const got = await loadCacheImport(spec, optionsFor);
      if ('warning' in got) warnings.push(got.warning);
      else caches.push(got.cache);
    }
  } catch (e) {
    await Promise.all(caches.map((c) => c.location.close()));
    throw e;
  }
  return { caches, warnings };
}

const MAX_CONFIG = 64 * 1024 * 1024;

/**
 * Reads the cache manifest and config of one `--cache-from`: a kiln cache manifest, or an image
 * whose config carries inline cache records. A missing or cache-less ref is a warning (as in
 * buildx); an unreachable registry or a malformed cache is an error.
 */
export async function loadCacheImport(spec: CacheImportSpec, optionsFor: RegistryOptionsFor): Promise<CacheImportResult> {
  const location = await openLocation(spec.type === 'registry' ? spec : { type: 'local', dir: spec.src, tag: spec.tag }, optionsFor);
  try {
    const found = await location.readManifest();
    if (!found) {
      await location.close();
      return { warning: `cache ${location.name} not found; building without it` };
    }
    let manifest: ImageManifest;
    try {
      manifest = JSON.parse(found.bytes.toString('utf8')) as ImageManifest;
    } catch (e) {
      throw new CacheTransferError('E_CACHE_FORMAT', `the manifest of ${location.name} is not valid JSON`, { cause: e });
    }
    if (!manifest.config || !Array.isArray(manifest.layers)) {
      await location.close();
      return { warning: `${location.name} is an image index or another kind of manifest, not a kiln cache; building without it` };
    }
    const configBytes = await location.readBlob(manifest.config, MAX_CONFIG);
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(configBytes.toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CacheTransferError('E_CACHE_FORMAT', `the config of ${location.name} is not valid JSON`, { cause: e });
    }
    const inline = manifest.config.mediaType !== CACHE_CONFIG_MEDIA_TYPE;
    if (inline && config[INLINE_CACHE_FIELD] === undefined) {
      await location.close();
      return { warning: `${location.name} holds no kiln cache (neither a cache export nor an image built with --cache-to type=inline); building without it` };
    }
    const doc = parseCacheDocument(inline ? config[INLINE_CACHE_FIELD] : config, location.name);
    const blobs = new Map(manifest.layers.map((l) => [l.digest, l]));
    for (const [digest, blob] of inline ? compressedCarriers(doc.records, manifest.layers, config) : annotatedCarriers(manifest.layers)) if (!blobs.has(digest)) blobs.set(digest, blob);
    // A record is only of use if its layer can be fetched from here.
    const records = new Map(Object.entries(doc.records).filter(([, r]) => blobs.has(r.layer.digest)));
    const mounts = (doc.mounts ?? []).filter((m) => blobs.has(m.layer.digest));
    return { cache: { name: location.name, records, blobs, mounts, location } };
  } catch (e) {
    await location.close();
    throw e;
  }
}

/**
 * Inline records name a layer as the build stored it, a plain tar whose digest is its diffID; the
 * pushed image carries it compressed. The config's diff_ids pair each of the image's blobs with
 * the tar it holds, so each such record's digest is mapped to the blob to fetch (and decompress).
 */
function compressedCarriers(records: Record<string, LayerCacheRecord>, layers: readonly Descriptor[], config: Record<string, unknown>): Map<string, Descriptor> {
  const rootfs = config.rootfs as { diff_ids?: unknown } | undefined;
  const diffIDs = Array.isArray(rootfs?.diff_ids) ? rootfs.diff_ids : [];
  const byDiffID = new Map<unknown, Descriptor>(layers.map((l, i) => [diffIDs[i], l]));
  const carriers = new Map<string, Descriptor>();
  for (const r of Object.values(records)) {
    const blob = byDiffID.get(r.layer.diffID);
    if (r.layer.digest === r.layer.diffID && blob) carriers.set(r.layer.digest, blob);
  }
  return carriers;
}

/** A cache export's compressed layers, by the plain layer each says it carries. */
function annotatedCarriers(layers: readonly Descriptor[]): Map<string, Descriptor> {
  const carriers = new Map<string, Descriptor>();
  for (const l of layers) {
    const plain = l.annotations?.[PLAIN_LAYER_ANNOTATION];
    if (plain !== undefined && /^sha256:[a-f0-9]{64}$/.test(plain)) carriers.set(plain, l);
  }
  return carriers;
}
