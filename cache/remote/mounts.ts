import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { applyLayer, mediaTypeFor, packLayer } from '../../oci/index.js';
import type { Store } from '../store.js';
import { CacheTransferError } from './errors.js';
import type { CacheMountEntry } from './format.js';
import type { CacheLocation } from './location.js';

/** A `RUN --mount=type=cache` a build used (after expansion; `id` defaults to the target, as in BuildKit). */
export interface CacheMountUse {
  id: string;
  uid?: number;
  gid?: number;
  mode?: number;
}

/** The shared instance (0) of a cache mount: the one every `sharing=shared|locked` user sees. */
async function sharedDir(root: string, id: string): Promise<string> {
  // Loaded on use: the store's other users need none of the runtime.
  const { cacheMountBase } = await import('../../runtime/index.js');
  return join(cacheMountBase(root, id), '0');
}

/**
 * Packs each used cache mount's shared directory into a layer blob in the store (streamed, gzip
 * level 1 like build layers), with the directory's owner and mode. Mounts never created are skipped.
 */
export async function packCacheMounts(store: Store, uses: readonly CacheMountUse[]): Promise<CacheMountEntry[]> {
  const out: CacheMountEntry[] = [];
  const ids = [...new Set(uses.map((u) => u.id))].sort();
  for (const id of ids) {
    const dir = await sharedDir(store.root, id);
    if (!existsSync(dir)) continue;
    const st = await stat(dir);
    const packed = packLayer(dir, { compression: 'gzip', level: 1, overlayWhiteouts: false });
    const [blob, info] = await Promise.all([store.writeBlob(packed.stream, { mediaType: mediaTypeFor('gzip') }), packed.result]);
    out.push({ id, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777, layer: { mediaType: info.mediaType, digest: blob.digest, size: blob.size, diffID: info.diffID } });
  }
  return out;
}

/**
 * Fills a cache mount from an exported layer, unless this root already has that mount (local
 * content wins, as it is at least as fresh). Extracted to a staging dir renamed into place, so a
 * step never sees a half-restored cache.
 */
export async function restoreCacheMount(root: string, entry: CacheMountEntry, location: CacheLocation): Promise<boolean> {
  const dir = await sharedDir(root, entry.id);
  if (existsSync(dir)) return false;
  const staging = `${dir}.restore-${process.pid}`;
  await mkdir(staging, { recursive: true });
  try {
    const { diffID } = await applyLayer(location.openBlob(entry.layer), staging, { whiteouts: 'apply' });
    if (diffID !== entry.layer.diffID) throw new CacheTransferError('E_CACHE_FORMAT', `cache mount ${entry.id} from ${location.name}: content hashes to ${diffID}, not ${entry.layer.diffID}`);
    await chown(staging, entry.uid, entry.gid);
    await chmod(staging, entry.mode);
    await rename(staging, dir);
    return true;
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    // A step created the mount meanwhile; its content stays.
    if (existsSync(dir)) return false;
    throw e;
  }
}
