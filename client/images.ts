/** Image commands on a daemon, through the Docker Engine API endpoints it serves. */
import { normalizeReference } from '../oci/index.js';
import type { DaemonClient } from './connection.js';

/** One row of `kiln images`: as the store's ImageSummary, one per name. */
export interface RemoteImage {
  /** Normalised name, absent for an untagged image. */
  name?: string;
  configDigest: string;
  /** ISO 8601. */
  created: string;
  size: number;
}

interface ApiImage {
  Id: string;
  RepoTags: string[] | null;
  Created: number;
  Size: number;
}

export async function listImages(client: DaemonClient): Promise<RemoteImage[]> {
  const out: RemoteImage[] = [];
  for (const img of await client.json<ApiImage[]>('GET', '/images/json')) {
    const row = { configDigest: img.Id, created: new Date(img.Created * 1000).toISOString(), size: img.Size };
    const tags = img.RepoTags ?? [];
    if (tags.length === 0) out.push(row);
    for (const t of tags) out.push({ ...row, name: normalizeReference(t) });
  }
  return out;
}

export async function tagImage(client: DaemonClient, source: string, target: string): Promise<void> {
  // The tag is what follows the last ':' after the last '/', so a registry port stays in the repository.
  const colon = target.lastIndexOf(':');
  const hasTag = colon > target.lastIndexOf('/');
  const q = new URLSearchParams({ repo: hasTag ? target.slice(0, colon) : target, ...(hasTag ? { tag: target.slice(colon + 1) } : {}) });
  (await client.request('POST', `/images/${encodeURIComponent(source)}/tag?${q}`)).resume();
}

/** Removes one image as `kiln rmi` does; returns its `Untagged: ...` / `Deleted: ...` lines. */
export async function removeImage(client: DaemonClient, ref: string, force: boolean): Promise<string[]> {
  const rows = await client.json<Record<string, string>[]>('DELETE', `/images/${encodeURIComponent(ref)}${force ? '?force=1' : ''}`);
  return rows.flatMap((r) => Object.entries(r).map(([k, v]) => `${k}: ${v}`));
}
