import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ContentStore } from './content.js';
import { digestHex, isDigest } from './digest.js';
import { ArchiveError } from './errors.js';
import { isIndexMediaType } from './media-types.js';
import { selectManifest } from './platform.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, LayerDescriptor } from './types.js';

export const OCI_LAYOUT_SCHEME = 'oci-layout://';

/** `oci-layout://DIR[:TAG][@DIGEST]` (BuildKit's named-context syntax), DIR made absolute. */
export interface LayoutRef {
  dir: string;
  tag?: string;
  digest?: string;
}

export function parseLayoutRef(value: string, cwd = process.cwd()): LayoutRef {
  let rest = value.slice(OCI_LAYOUT_SCHEME.length);
  let digest: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw new ArchiveError(`${value}: "${digest}" is not a sha256 digest`, { hint: 'give oci-layout://DIR, oci-layout://DIR:TAG or oci-layout://DIR@sha256:...' });
  }
  // A tag follows the last ':' after the last '/' (a path may hold ':' elsewhere).
  const colon = rest.lastIndexOf(':');
  const tag = colon > rest.lastIndexOf('/') ? rest.slice(colon + 1) : undefined;
  const dir = resolve(cwd, tag === undefined ? rest : rest.slice(0, colon));
  return { dir, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The image an OCI layout dir names, its blobs copied into the store (each checked against its digest). */
export interface LayoutImage {
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
  layers: LayerDescriptor[];
}

/**
 * Reads the image `ref` names from its OCI image layout directory, as BuildKit's
 * `--build-context NAME=oci-layout://...` does: by digest, by tag (the index's
 * `org.opencontainers.image.ref.name`), or the layout's only image; for an index, the manifest for
 * this platform. Only the blobs that image needs are copied; nothing is named in the store.
 */
export async function importLayoutImage(store: ContentStore, ref: LayoutRef): Promise<LayoutImage> {
  const where = `oci-layout://${ref.dir}`;
  const fail = (why: string, hint = 'write the layout with `kiln save --format oci` (untarred), `skopeo copy ... oci:DIR:TAG` or `docker buildx build -o type=oci,tar=false`') => new ArchiveError(`${where}: ${why}`, { hint });
  const blobPath = (d: string) => join(ref.dir, 'blobs', 'sha256', digestHex(d));
  const copy = async (d: Descriptor): Promise<void> => {
    if (!isDigest(d.digest)) throw fail(`"${d.digest}" is not a sha256 digest`);
    if (await store.hasBlob(d.digest)) return;
    try {
      await store.writeBlob(createReadStream(blobPath(d.digest)), { expectedDigest: d.digest, ...(Number.isSafeInteger(d.size) ? { expectedSize: d.size } : {}), ...(d.mediaType ? { mediaType: d.mediaType } : {}) });
    } catch (e) {
      throw fail(`blob ${d.digest}: ${(e as Error).message}`);
    }
  };
  let index: ImageIndex;
  try {
    index = JSON.parse(await readFile(join(ref.dir, 'index.json'), 'utf8')) as ImageIndex;
  } catch (e) {
    throw fail(e instanceof SyntaxError ? 'index.json is not valid JSON' : 'no index.json there: not an OCI image layout');
  }
  const manifests = Array.isArray(index.manifests) ? index.manifests : [];
  const tagOf = (m: Descriptor) => m.annotations?.['org.opencontainers.image.ref.name'];
  let top: Descriptor | undefined;
  if (ref.digest) top = manifests.find((m) => m.digest === ref.digest) ?? { mediaType: '', digest: ref.digest, size: Number.NaN };
  else if (ref.tag) top = manifests.find((m) => tagOf(m) === ref.tag);
  else top = manifests.length === 1 ? manifests[0] : manifests.find((m) => tagOf(m) === 'latest');
  if (!top) {
    const tags = manifests.flatMap((m) => (tagOf(m) ? [tagOf(m)!] : []));
    throw fail(ref.tag ? `no image is tagged "${ref.tag}"` : `holds ${manifests.length} images and none is tagged "latest"`, tags.length ? `tags there: ${tags.join(', ')}; give oci-layout://DIR:TAG` : 'give oci-layout://DIR@sha256:...');
  }
  // Read back from the store, where each was checked against its digest.
  const stored = async <T>(d: Descriptor, what: string): Promise<T> => {
    await copy(d);
    try {
      return await store.readJson<T>(d.digest);
    } catch {
      throw fail(`${what} ${d.digest} is not valid JSON`);
    }
  };
  let manifestDesc = top;
  let doc = await stored<ImageManifest | ImageIndex>(top, 'manifest');
  if (isIndexMediaType(doc.mediaType) || 'manifests' in doc) {
    const chosen = selectManifest(doc as ImageIndex);
    if (!chosen) throw fail(`index ${top.digest} has no image for this platform`);
    manifestDesc = chosen;
    doc = await stored<ImageManifest>(chosen, 'manifest');
  }
  const manifest = doc as ImageManifest;
  if (!manifest.config || !Array.isArray(manifest.layers)) throw fail(`${manifestDesc.digest} is not an image manifest`);
  const config = await stored<ImageConfig>(manifest.config, 'config');
  const diffIDs = config.rootfs?.diff_ids ?? [];
  if (diffIDs.length !== manifest.layers.length) throw fail(`image ${manifestDesc.digest} lists ${manifest.layers.length} layers but its config ${diffIDs.length}`);
  for (const l of manifest.layers) await copy(l);
  return {
    manifestDigest: manifestDesc.digest,
    manifest,
    configDigest: manifest.config.digest,
    config,
    layers: manifest.layers.map((l, i) => ({ ...l, diffID: diffIDs[i]! })),
  };
}
