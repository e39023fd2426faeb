import PQueue from 'p-queue';
import type { Store } from '../../cache/index.js';
import { exportLayers, layerCompression, MediaType, type Descriptor, type LayerExport } from '../image/index.js';
import { formatReference, parseReference } from '../reference.js';
import { RegistryClient, type BlobPushResult, type ClientOptions } from './client.js';
import { RegistryError } from './errors.js';
import { DEFAULT_CONCURRENCY } from './pull.js';

export interface PushOptions extends ClientOptions {
  /** How many blobs upload at once (default 3). */
  concurrency?: number;
  /** How the layers are compressed on the way (default: gzip those stored uncompressed). */
  layers?: LayerExport;
}

const COMPRESSED_LAYER_TYPES = [MediaType.ociLayerGzip, MediaType.dockerLayerGzip, MediaType.ociLayerZstd];

export interface PushResult {
  /** Where the image went, fully qualified with its tag. */
  reference: string;
  manifestDigest: string;
  manifestMediaType: string;
  /** Bytes of the manifest, as `docker push` reports `size:`. */
  manifestSize: number;
  blobs: Record<BlobPushResult, number>;
}

/**
 * Repositories on `registry` that the store's named images say hold each blob: candidates for
 * a cross-repository mount instead of an upload.
 */
async function mountSources(store: Store, registry: string, repository: string): Promise<Map<string, string[]>> {
  const sources = new Map<string, string[]>();
  for (const image of await store.listImages()) {
    if (!image.name) continue;
    let ref;
    try {
      ref = parseReference(image.name);
    } catch {
      continue;
    }
    if (ref.registry !== registry || ref.repository === repository) continue;
    const resolved = await store.resolveImage(image.manifestDigest).catch(() => undefined);
    if (!resolved) continue;
    // A layer stored uncompressed went there as a compressed copy, if one was made.
    const variants = resolved.layers.map((l) => (layerCompression(l.mediaType) === 'none' ? store.layerVariant(l.digest, COMPRESSED_LAYER_TYPES) : undefined));
    for (const d of [resolved.manifest.config, ...resolved.layers, ...variants]) {
      if (!d) continue;
      const list = sources.get(d.digest) ?? [];
      if (!list.includes(ref.repository)) list.push(ref.repository);
      sources.set(d.digest, list);
    }
  }
  return sources;
}

/**
 * Pushes a stored image to `target` (default: its own name): its layers compressed as
 * `options.layers` says (exportLayers: by default the plain ones a build stored are gzipped, so
 * the manifest pushed is not the stored one), first (concurrently, each skipped if present or
 * mounted from another repository), then the config, then the manifest by tag. The tag is
 * written last, so a failed push never leaves it pointing at a partial image.
 */
export async function pushImage(store: Store, image: string, target?: string, options: PushOptions = {}): Promise<PushResult> {
  const resolved = await store.resolveImage(image);
  const ref = parseReference(target ?? resolved.name ?? image);
  if (ref.tag === undefined) {
    throw new RegistryError('E_REGISTRY_PUSH_TARGET', `cannot push to ${formatReference(ref)}: a push needs a tag`, { hint: 'give the target as NAME:TAG' });
  }
  const pushed = await exportLayers(store, resolved, options.layers);
  const bytes = await store.readBlob(pushed.manifestDigest);
  const mediaType = pushed.manifest.mediaType ?? MediaType.ociManifest;
  const client = await RegistryClient.connect(ref.registry, options);
  try {
    const sources = await mountSources(store, ref.registry, ref.repository);
    const counts: Record<BlobPushResult, number> = { exists: 0, mounted: 0, uploaded: 0 };
    const push = async (d: Descriptor) => {
      const outcome = await client.pushBlob(ref.repository, { digest: d.digest, size: d.size, open: () => store.openBlob(d.digest) }, sources.get(d.digest) ?? []);
      counts[outcome]++;
    };
    const queue = new PQueue({ concurrency: options.concurrency ?? DEFAULT_CONCURRENCY });
    const settled = await Promise.allSettled(pushed.manifest.layers.map((d) => queue.add(() => push(d))));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    await push(pushed.manifest.config);
    await client.putManifest(ref.repository, ref.tag, { bytes, mediaType, digest: pushed.manifestDigest });
    store.recordRepoDigest(resolved.indexDigest ?? resolved.manifestDigest, formatReference(ref), pushed.manifestDigest);
    return { reference: formatReference(ref), manifestDigest: pushed.manifestDigest, manifestMediaType: mediaType, manifestSize: bytes.length, blobs: counts };
  } finally {
    await client.close();
  }
}
