import { canonicalJson } from '../keys.js';
import type { Descriptor, LayerDescriptor } from '../../oci/index.js';
import { CacheTransferError } from './errors.js';

/** Config media type of a kiln cache manifest (distribution 2.8 and later accept any config type). */
export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.kiln.cache.config.v1+json';
/** Top-level image config field holding inline cache records (BuildKit's is `moby.buildkit.cache.v0`). */
export const INLINE_CACHE_FIELD = 'kiln.cache.v0';

/**
 * On a cache manifest's compressed layer: the digest of the plain tar the records name (the layer
 * as the build stored it), which an import decompresses it into.
 */
export const PLAIN_LAYER_ANNOTATION = 'dev.kiln.cache.layer.plain';

/** Layer annotations of an exported `RUN --mount=type=cache` directory. */
export const MOUNT_ANNOTATIONS = {
  id: 'dev.kiln.cache.mount.id',
  uid: 'dev.kiln.cache.mount.uid',
  gid: 'dev.kiln.cache.mount.gid',
  mode: 'dev.kiln.cache.mount.mode',
} as const;

/** A build step's cache record as the solver stores it: the layer it made and when. */
export interface LayerCacheRecord {
  layer: LayerDescriptor;
  created: string;
}

/** A cache mount directory exported as a layer. */
export interface CacheMountEntry {
  id: string;
  uid: number;
  gid: number;
  /** Permission bits of the mount's root directory. */
  mode: number;
  layer: LayerDescriptor;
}

/** The config blob of a kiln cache manifest (also the inline field, without mounts). */
export interface CacheDocument {
  records: Record<string, LayerCacheRecord>;
  mounts?: CacheMountEntry[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isDigest = (v: unknown): v is string => typeof v === 'string' && /^sha256:[a-f0-9]{64}$/.test(v);

function isLayer(v: unknown): v is LayerDescriptor {
  return isObj(v) && isDigest(v.digest) && isDigest(v.diffID) && typeof v.mediaType === 'string' && Number.isSafeInteger(v.size);
}

/** Whether a store cache record is a layer-making step's (explain records and the like are not). */
export function isLayerCacheRecord(v: unknown): v is LayerCacheRecord {
  return isObj(v) && isLayer(v.layer) && typeof v.created === 'string';
}

function isMount(v: unknown): v is CacheMountEntry {
  return isObj(v) && typeof v.id === 'string' && [v.uid, v.gid, v.mode].every((n) => Number.isSafeInteger(n)) && isLayer(v.layer);
}

/** Checks a cache document read from outside; anything malformed is an error naming `where`. */
export function parseCacheDocument(value: unknown, where: string): CacheDocument {
  const bad = (why: string) => new CacheTransferError('E_CACHE_FORMAT', `${where} is not a valid kiln cache: ${why}`, { hint: 'export it again with --cache-to' });
  if (!isObj(value) || !isObj(value.records)) throw bad('no records');
  for (const [k, r] of Object.entries(value.records)) if (!isLayerCacheRecord(r)) throw bad(`record ${k} is malformed`);
  if (value.mounts !== undefined && !(Array.isArray(value.mounts) && value.mounts.every(isMount))) throw bad('malformed cache mounts');
  return value as unknown as CacheDocument;
}

/** Deterministic bytes: the same records always give the same config digest. */
export function encodeCacheDocument(doc: CacheDocument): Buffer {
  return Buffer.from(canonicalJson(doc));
}

/** The plain layer descriptor a manifest lists (no diffID). */
export function manifestLayer(l: LayerDescriptor, annotations?: Record<string, string>): Descriptor {
  return { mediaType: l.mediaType, digest: l.digest, size: l.size, ...(annotations ? { annotations } : {}) };
}
