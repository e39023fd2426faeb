/** The daemon's state root through kiln's own routes: prune, disk usage, check, and image exports. */
import type { Readable } from 'node:stream';
import type { ArchivedManifest } from '../oci/index.js';
import type { DiskUsage, PruneResult } from '../cache/index.js';
import { ARCHIVE_MANIFEST_HEADER, type PrunePolicy, type StateCheckReport } from '../daemon/index.js';
import type { DaemonClient } from './connection.js';

export function pruneDaemon(client: DaemonClient, policy: PrunePolicy): Promise<PruneResult> {
  return client.json<PruneResult>('POST', '/kiln/v1/prune', policy);
}

export function daemonDiskUsage(client: DaemonClient): Promise<DiskUsage> {
  return client.json<DiskUsage>('GET', '/kiln/v1/du');
}

export function checkDaemonRoot(client: DaemonClient, repair: boolean): Promise<StateCheckReport> {
  return client.json<StateCheckReport>('POST', `/kiln/v1/check${repair ? '?repair=1' : ''}`);
}

export interface ExportedArchive {
  stream: Readable;
  /** An OCI archive's manifest, as the daemon announced it before the archive. */
  manifest?: ArchivedManifest;
}

/**
 * An image as an OCI or docker archive (named after each of `names`) or a tarball of its root
 * filesystem, streamed; `layers` are the `compression=` options of an OCI archive, as strings.
 */
export async function exportImage(client: DaemonClient, ref: string, type: 'oci' | 'docker' | 'tar', names: readonly string[] = [], layers: Record<string, string> = {}): Promise<ExportedArchive> {
  const q = new URLSearchParams({ type, ...layers });
  for (const name of names) q.append('name', name);
  let announced: string | string[] | undefined;
  const stream = await client.download('GET', `/kiln/v1/images/${encodeURIComponent(ref)}/export?${q}`, (headers) => (announced = headers[ARCHIVE_MANIFEST_HEADER]));
  const manifest = typeof announced === 'string' ? parseArchiveManifest(announced) : undefined;
  return manifest ? { stream, manifest } : { stream };
}

/** `<media type> <digest>`, as the daemon writes the header. */
function parseArchiveManifest(value: string): ExportedArchive['manifest'] {
  const [manifestMediaType, manifestDigest] = value.split(' ');
  return manifestMediaType && manifestDigest?.startsWith('sha256:') ? { manifestDigest, manifestMediaType } : undefined;
}
