/** Image commands on a daemon, through the Docker Engine API endpoints it serves. */
import type { Readable } from 'node:stream';
import { KilnError } from '../common/errors.js';
import type { HistoryRow } from '../cache/index.js';
import { normalizeReference } from '../oci/index.js';
import type { DaemonClient } from './connection.js';
import { readJsonMessages } from './json-messages.js';
import { registryAuthHeader } from './registry-auth.js';

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

/** Docker's `repo` and `tag` query: the tag is what follows the last ':' after the last '/', so a registry port stays in the repository. */
function repoAndTag(name: string): Record<string, string> {
  const colon = name.lastIndexOf(':');
  const hasTag = colon > name.lastIndexOf('/');
  return { repo: hasTag ? name.slice(0, colon) : name, ...(hasTag ? { tag: name.slice(colon + 1) } : {}) };
}

export async function tagImage(client: DaemonClient, source: string, target: string): Promise<void> {
  (await client.request('POST', `/images/${encodeURIComponent(source)}/tag?${new URLSearchParams(repoAndTag(target))}`)).resume();
}

/** Removes one image as `kiln rmi` does; returns its `Untagged: ...` / `Deleted: ...` lines. */
export async function removeImage(client: DaemonClient, ref: string, force: boolean): Promise<string[]> {
  const rows = await client.json<Record<string, string>[]>('DELETE', `/images/${encodeURIComponent(ref)}${force ? '?force=1' : ''}`);
  return rows.flatMap((r) => Object.entries(r).map(([k, v]) => `${k}: ${v}`));
}

/** `docker image inspect` of each image, as the daemon describes it. */
export async function inspectImages(client: DaemonClient, refs: string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const ref of refs) out.push(await client.json('GET', `/images/${encodeURIComponent(ref)}/json`));
  return out;
}

export function imageHistory(client: DaemonClient, ref: string): Promise<HistoryRow[]> {
  return client.json<HistoryRow[]>('GET', `/images/${encodeURIComponent(ref)}/history`);
}

/** What an embedded pull returns and prints. */
export interface RemotePull {
  name: string;
  manifestDigest: string;
  downloaded: number;
}

/** Pulls on the daemon with the client's credentials for the registry (`X-Registry-Auth`). */
export async function pullImage(client: DaemonClient, reference: string, platform: string): Promise<RemotePull> {
  const q = new URLSearchParams({ fromImage: reference, platform });
  const res = await client.request('POST', `/images/create?${q}`, '', await registryAuthHeader(reference));
  let result: RemotePull | undefined;
  await readJsonMessages(res, (m) => {
    const aux = m.aux as { Name?: string; Digest?: string; Downloaded?: number } | undefined;
    if (aux?.Name && aux.Digest) result = { name: aux.Name, manifestDigest: aux.Digest, downloaded: aux.Downloaded ?? 0 };
  });
  if (!result) throw incomplete('pull');
  return result;
}

/** What an embedded push returns and prints. */
export interface RemotePush {
  reference: string;
  manifestDigest: string;
  manifestSize: number;
  blobs: { uploaded: number; mounted: number; exists: number };
}

/**
 * Pushes `image` to `target` (default: its own name) from the daemon, with the client's credentials
 * for the target's registry; `layers` are kiln's `compression=` options, as strings.
 */
export async function pushImage(client: DaemonClient, image: string, target: string | undefined, layers: Record<string, string> = {}): Promise<RemotePush> {
  const name = target ?? image;
  const q = new URLSearchParams({ ...(target === undefined ? {} : { from: image }), ...layers });
  const path = `/images/${encodeURIComponent(name)}/push${q.size > 0 ? `?${q}` : ''}`;
  const res = await client.request('POST', path, '', await registryAuthHeader(name));
  let result: RemotePush | undefined;
  await readJsonMessages(res, (m) => {
    const aux = m.aux as { Digest?: string; Size?: number; Reference?: string; Blobs?: RemotePush['blobs'] } | undefined;
    if (aux?.Reference && aux.Digest && aux.Blobs) result = { reference: aux.Reference, manifestDigest: aux.Digest, manifestSize: aux.Size ?? 0, blobs: aux.Blobs };
  });
  if (!result) throw incomplete('push');
  return result;
}

/** The daemon's archive of `refs` (docker-archive or OCI layout), streamed. */
export function saveImages(client: DaemonClient, refs: string[], format: 'oci' | 'docker'): Promise<Readable> {
  const q = new URLSearchParams(refs.map((r): [string, string] => ['names', r]));
  if (format === 'oci') q.set('format', 'oci');
  return client.download('GET', `/images/get?${q}`);
}

/** Streams an archive to the daemon; returns its `Loaded image...` lines. */
export async function loadImages(client: DaemonClient, archive: Readable): Promise<string[]> {
  const res = await client.request('POST', '/images/load', archive, { 'Content-Type': 'application/x-tar' });
  const lines: string[] = [];
  await readJsonMessages(res, (m) => {
    if (m.stream) lines.push(m.stream.replace(/\n$/, ''));
  });
  return lines;
}

export interface RemoteImport {
  /** Name to tag it with. */
  name?: string;
  changes: string[];
  compression: string;
  /** The tarball's file name for the history comment, `-` for stdin. */
  source: string;
}

/** `docker import` on the daemon: the rootfs tar is streamed as the body; returns the image id. */
export async function importImage(client: DaemonClient, tar: Readable, o: RemoteImport): Promise<string> {
  const q = new URLSearchParams({ fromSrc: '-', compression: o.compression, source: o.source, ...(o.name !== undefined ? repoAndTag(o.name) : {}) });
  for (const c of o.changes) q.append('changes', c);
  const res = await client.request('POST', `/images/create?${q}`, tar, { 'Content-Type': 'application/x-tar' });
  let id: string | undefined;
  await readJsonMessages(res, (m) => {
    if (m.status?.startsWith('sha256:')) id = m.status;
  });
  if (!id) throw incomplete('import');
  return id;
}

function incomplete(what: string): KilnError {
  return new KilnError('E_DAEMON_REQUEST', `the kiln daemon ended the ${what} without a result`, { hint: "see the daemon's log" });
}
