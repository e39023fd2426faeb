/**
 * Docker's views of a stored image (`docker image inspect`, `docker history`), built in one place
 * so the API and the embedded CLI show the same thing: `kiln inspect` reads alike with or without
 * `--host`.
 */
import type { ResolvedImage, Store } from './store.js';
import { familiarName } from '../oci/index.js';

/** Unix seconds of an RFC 3339 time, 0 when there is none (Docker's zero time). */
export function unixSeconds(iso: string | undefined): number {
  return iso ? Math.floor(new Date(iso).getTime() / 1000) : 0;
}

/** One image as `GET /images/{name}/json` answers it; sizes are the layers uncompressed, as Docker counts them. */
export async function describeImage(store: Store, img: ResolvedImage): Promise<Record<string, unknown>> {
  const top = img.indexDigest ?? img.manifestDigest;
  const c = img.config;
  const size = await store.imageSize(img);
  return {
    Id: img.configDigest,
    RepoTags: store.imageNames(top).map(familiarName),
    RepoDigests: store.repoDigests(top).map(familiarName),
    Parent: '',
    Comment: c.history?.at(-1)?.comment ?? '',
    Created: c.created ?? '',
    DockerVersion: '',
    Author: c.author ?? '',
    Config: c.config ?? {},
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: size,
    VirtualSize: size,
    GraphDriver: { Name: 'overlay', Data: null },
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
    Descriptor: { mediaType: img.manifest.mediaType, digest: img.manifestDigest, size: await store.blobSize(img.manifestDigest) },
  };
}

/** Go's zero time in Unix seconds: what Docker reports for a history entry without a time. */
export const NO_TIME = -62_135_596_800;

/** A row of `GET /images/{name}/history`. */
export interface HistoryRow {
  Id: string;
  /** Unix seconds; NO_TIME when unknown. */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** Newest first; layers pair with the non-empty history entries from the end. */
export function historyRows(store: Store, img: ResolvedImage): HistoryRow[] {
  const entries = img.config.history ?? img.layers.map(() => ({}));
  const tags = store.imageNames(img.indexDigest ?? img.manifestDigest).map(familiarName);
  let layer = img.layers.length - 1;
  const out: HistoryRow[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const h = entries[i] as { created?: string; created_by?: string; comment?: string; empty_layer?: boolean };
    const size = h.empty_layer ? 0 : (img.layers[layer--]?.size ?? 0);
    const top = i === entries.length - 1;
    out.push({ Id: top ? img.configDigest : '<missing>', Created: h.created ? unixSeconds(h.created) : NO_TIME, CreatedBy: h.created_by ?? '', Tags: top ? tags : null, Size: size, Comment: h.comment ?? '' });
  }
  return out;
}
