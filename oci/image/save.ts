import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { familiarReference, parseReference } from '../reference.js';
import { createDecompressor } from '../layer/index.js';
import type { ContentStore } from './content.js';
import { DEFAULT_LAYER_EXPORT, exportLayers, type LayerExport } from './convert.js';
import { digestHex } from './digest.js';
import { CorruptLayerError } from './errors.js';
import { MediaType } from './media-types.js';
import { hashingSink, sniffCompression } from './stream-util.js';
import { TarOut } from './tar-out.js';
import type { Descriptor, ImageIndex, ImageManifest, LayerDescriptor } from './types.js';

/** An image to save: what cache/'s resolveImage returns is enough. */
export interface SaveImage {
  /** Fully qualified name (`docker.io/library/busybox:latest`), if the image is to be named. */
  name?: string;
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  layers: LayerDescriptor[];
  /** When the image was made: an OCI archive's index says so (`org.opencontainers.image.created`), as BuildKit's exporter does. */
  created?: string;
}

export type ArchiveFormat = 'oci' | 'docker';

/** A manifest an OCI archive holds: its layers may be compressed copies, so not the store's manifest. */
export interface ArchivedManifest {
  manifestDigest: string;
  manifestMediaType: string;
}

/**
 * Writes images as an OCI image layout tarball, its layers compressed as `layers` says (by default
 * gzip, as BuildKit's OCI exporter writes them), or as a docker-archive (what `docker save`
 * writes: plain layer tars), streaming every blob. The same images always give byte-identical output.
 * `onManifests` is told an OCI archive's manifests before its first byte is written.
 */
export async function saveImages(
  store: ContentStore,
  images: SaveImage[],
  format: ArchiveFormat,
  out: Writable,
  layers: LayerExport = DEFAULT_LAYER_EXPORT,
  onManifests?: (manifests: ArchivedManifest[]) => void,
): Promise<void> {
  const tar = new TarOut(out);
  try {
    if (format === 'oci') {
      // One image under several names is converted once.
      const converted = new Map<string, SaveImage>();
      const exported: SaveImage[] = [];
      for (const img of images) {
        let done = converted.get(img.manifestDigest);
        if (!done) converted.set(img.manifestDigest, (done = await exportLayers(store, img, layers)));
        exported.push({ ...done, ...(img.name !== undefined ? { name: img.name } : {}) });
      }
      onManifests?.(exported.map((img) => ({ manifestDigest: img.manifestDigest, manifestMediaType: img.manifest.mediaType ?? MediaType.ociManifest })));
      await writeOci(store, exported, tar);
    } else await writeDocker(store, images, tar);
    await tar.finish();
  } catch (e) {
    tar.abort(e as Error);
    throw e;
  }
}

async function writeOci(store: ContentStore, images: SaveImage[], tar: TarOut): Promise<void> {
  const blobs = new Set<string>();
  const manifests: Descriptor[] = [];
  for (const img of images) {
    const desc: Descriptor = { mediaType: img.manifest.mediaType ?? MediaType.ociManifest, digest: img.manifestDigest, size: await store.blobSize(img.manifestDigest) };
    if (img.name !== undefined) {
      const ref = parseReference(img.name);
      desc.annotations = { 'io.containerd.image.name': img.name };
      if (ref.tag !== undefined) desc.annotations['org.opencontainers.image.ref.name'] = ref.tag;
    }
    if (img.created !== undefined) desc.annotations = { ...desc.annotations, 'org.opencontainers.image.created': img.created };
    manifests.push(desc);
    for (const d of [img.manifestDigest, img.configDigest, ...img.layers.map((l) => l.digest)]) blobs.add(d);
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
  await tar.dir('blobs/');
  await tar.dir('blobs/sha256/');
  for (const digest of [...blobs].sort()) {
    await tar.stream(`blobs/sha256/${digestHex(digest)}`, await store.blobSize(digest), store.openBlob(digest));
  }
  await tar.file('index.json', JSON.stringify(index));
  await tar.file('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

async function writeDocker(store: ContentStore, images: SaveImage[], tar: TarOut): Promise<void> {
  const entries: DockerManifestEntry[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const layers = new Map<string, LayerDescriptor>();
  const configs = new Set<string>();
  for (const img of images) {
    const layerPaths = img.layers.map((l) => `${digestHex(l.diffID)}/layer.tar`);
    for (const l of img.layers) layers.set(digestHex(l.diffID), l);
    configs.add(img.configDigest);
    const repoTags: string[] = [];
    if (img.name !== undefined) {
      const ref = parseReference(img.name);
      if (ref.tag !== undefined) {
        const familiar = familiarReference({ ...ref, digest: undefined });
        repoTags.push(familiar);
        const repo = familiar.slice(0, familiar.lastIndexOf(':'));
        const top = img.layers.at(-1);
        if (top) (repositories[repo] ??= {})[ref.tag] = digestHex(top.diffID);
      }
    }
    // Several names of one image make one entry with all the names, as docker writes it.
    const same = entries.find((e) => e.Config === `${digestHex(img.configDigest)}.json`);
    if (same) same.RepoTags = [...(same.RepoTags ?? []), ...repoTags.filter((r) => !same.RepoTags?.includes(r))];
    else entries.push({ Config: `${digestHex(img.configDigest)}.json`, RepoTags: repoTags, Layers: layerPaths });
  }
  const names: [string, () => Promise<void>][] = [];
  for (const c of configs) names.push([`${digestHex(c)}.json`, async () => tar.stream(`${digestHex(c)}.json`, await store.blobSize(c), store.openBlob(c))]);
  for (const [hex, l] of layers) {
    names.push([`${hex}/`, () => tar.dir(`${hex}/`)]);
    names.push([`${hex}/layer.tar`, () => writeDockerLayer(store, tar, `${hex}/layer.tar`, l)]);
  }
  const manifest = entries.map((e) => ({ ...e, RepoTags: e.RepoTags && e.RepoTags.length > 0 ? e.RepoTags : null }));
  names.push(['manifest.json', () => tar.file('manifest.json', JSON.stringify(manifest))]);
  names.push(['repositories', () => tar.file('repositories', JSON.stringify(repositories))]);
  names.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [, write] of names) await write();
}

/**
 * docker-archive layers are plain tars. A tar header needs the size up front, so a compressed
 * blob is decompressed twice: once to measure it (and check its diffID), once into the archive.
 */
async function writeDockerLayer(store: ContentStore, tar: TarOut, name: string, layer: LayerDescriptor): Promise<void> {
  // A plain tar stored under its diffID was checked against that digest when it was stored.
  if (layer.digest === layer.diffID) {
    await tar.stream(name, await store.blobSize(layer.digest), store.openBlob(layer.digest));
    return;
  }
  const { compression, stream } = await sniffCompression(store.openBlob(layer.digest));
  const sink = hashingSink();
  await pipeline(stream, createDecompressor(compression), sink);
  const { digest, size } = sink.result();
  if (digest !== layer.diffID) throw new CorruptLayerError(layer.digest, digest, layer.diffID);
  const blob = store.openBlob(layer.digest);
  const plain = createDecompressor(compression);
  blob.on('error', (e) => plain.destroy(e));
  await tar.stream(name, size, blob.pipe(plain));
}
