import type { Readable } from 'node:stream';

/**
 * What image code needs from a content-addressed store. cache/'s Store implements it; oci/image
 * does not depend on cache/.
 */
export interface ContentStore {
  writeBlob(stream: Readable, opts?: { expectedDigest?: string; expectedSize?: number; mediaType?: string }): Promise<{ digest: string; size: number }>;
  writeBlobBuffer(buf: Buffer | string, opts?: { expectedDigest?: string; mediaType?: string }): Promise<{ digest: string; size: number }>;
  openBlob(digest: string): Readable;
  readJson<T>(digest: string): Promise<T>;
  hasBlob(digest: string): Promise<boolean>;
  blobSize(digest: string): Promise<number>;
  /** A stored blob holding `source`'s tar in one of `mediaTypes`, kept as its child (addRefs); not held. */
  layerVariant(source: string, mediaTypes: readonly string[]): { digest: string; size: number } | undefined;
  /** Records that `parent` needs `children`, so GC keeps them as long as it keeps `parent`. */
  addRefs(parent: string, children: string[]): void;
}
