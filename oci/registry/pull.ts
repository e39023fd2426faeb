import { availableParallelism } from 'node:os';
import PQueue from 'p-queue';
import type { Store } from '../../cache/index.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../image/index.js';
import { isIndexMediaType, isManifestMediaType } from '../image/index.js';
import { formatReference, parseReference, type ImageReference } from '../reference.js';
import { BlobWorkerPool } from './blob-pool.js';
import { RegistryClient, type ClientOptions, type ClientSession, type FetchedManifest } from './client.js';
import { RegistryError } from './errors.js';
import { hasBlobSubscribers } from './progress.js';
import { DEFAULT_PULL_PLATFORM, parsePlatform, selectPlatformManifest } from './platform-select.js';

export interface PullOptions extends ClientOptions {
  /** `os/arch[/variant]`; default linux/amd64. */
  platform?: string;
  /** How many blobs download at once (default 3). */
  concurrency?: number;
  /**
   * Blobs of at least this many bytes download in worker threads (Infinity: none). Default 16 MiB
   * with 3 cores or more, else Infinity. A worker costs a thread and a second load of the HTTP
   * client, which only big blobs repay.
   */
  workerThreshold?: number;
}

export interface PullResult {
  /** The name the image was tagged with in the store. */
  name: string;
  manifestDigest: string;
  /** The index or manifest list the manifest was chosen from, when there was one. */
  indexDigest?: string;
  configDigest: string;
  /** Blobs downloaded (the rest were already in the store). */
  downloaded: number;
  bytes: number;
}

export const DEFAULT_CONCURRENCY = 3;
export const DEFAULT_WORKER_THRESHOLD = 16 * 1024 * 1024;

/**
 * With fewer than 3 cores the pool would get one thread (one core is left to the main thread),
 * which only moves the main thread's work there and adds its start-up: on 2 cores the
 * main-thread pull was the faster in 6 of 7 bench/registry runs (bench/registry/README.md).
 */
function defaultWorkerThreshold(): number {
  return availableParallelism() >= 3 ? DEFAULT_WORKER_THRESHOLD : Infinity;
}

/** The fields of the options a worker's own client needs; all plain data, so they can be posted. */
function clientOptions(o: ClientOptions): ClientOptions {
  const { env, credentials, retry, insecureRegistries, caFile, registries } = o;
  return JSON.parse(JSON.stringify({ env, credentials, retry, insecureRegistries, caFile, registries })) as ClientOptions;
}

function parseManifest(m: FetchedManifest, what: string): ImageManifest | ImageIndex {
  const doc = JSON.parse(m.bytes.toString('utf8')) as { schemaVersion?: number; mediaType?: string; manifests?: unknown; layers?: unknown; config?: unknown };
  if (doc.schemaVersion === 1 || m.mediaType.startsWith('application/vnd.docker.distribution.manifest.v1')) {
    throw new RegistryError('E_REGISTRY_UNSUPPORTED', `${what} is a Docker schema 1 manifest, which kiln does not support`, {
      hint: 'push the image again with a current docker or kiln to get a schema 2 / OCI manifest',
    });
  }
  if (Array.isArray(doc.manifests) && (isIndexMediaType(m.mediaType) || !doc.layers)) return doc as ImageIndex;
  if (Array.isArray(doc.layers) && doc.config && (isManifestMediaType(m.mediaType) || m.mediaType === '' || m.mediaType.endsWith('json'))) return doc as ImageManifest;
  throw new RegistryError('E_REGISTRY_UNSUPPORTED', `${what} has media type ${m.mediaType || 'unknown'}, which is not an image manifest or index`);
}

/** The store refused a downloaded blob whose content does not match its digest: say where it came from. */
/**
 * Pulls an image into the store: picks the platform from an index, fetches config and layers
 * concurrently (skipping blobs already present), stores the manifest, and only then tags it, so
 * the name never points at an image with missing blobs.
 */
export async function pullImage(store: Store, reference: string | ImageReference, options: PullOptions = {}): Promise<PullResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const repo = ref.repository;
  const display = formatReference(ref);
  const platform = parsePlatform(options.platform ?? DEFAULT_PULL_PLATFORM);
  const client = await RegistryClient.connect(ref.registry, options);
  let pool: BlobWorkerPool | undefined;
  try {
    let fetched = await client.getManifest(repo, ref.digest ?? ref.tag!);
    let doc = parseManifest(fetched, display);
    let indexDigest: string | undefined;
    if ('manifests' in doc) {
      indexDigest = fetched.digest;
      const picked = selectPlatformManifest(doc, platform, display);
      fetched = await client.getManifest(repo, picked.digest);
      doc = parseManifest(fetched, `${display} (${picked.digest})`);
      if ('manifests' in doc) throw new RegistryError('E_REGISTRY_UNSUPPORTED', `${display}: nested image indexes are not supported`);
    }
    const manifest = doc;
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    const queue = new PQueue({ concurrency });
    let downloaded = 0;
    let bytes = 0;
    const blobs = [manifest.config, ...manifest.layers];
    const threshold = options.workerThreshold ?? defaultWorkerThreshold();
    const big = blobs.filter((d) => d.size >= threshold).length;
    // Threads beyond the cores would only add start-up cost; one core is left to the main thread.
    const workers = big > 0 ? BlobWorkerPool.create(Math.min(concurrency, big, Math.max(1, availableParallelism() - 1))) : undefined;
    pool = workers;
    const scopes = [`repository:${repo}:pull`];
    let session: Promise<ClientSession> | undefined;
    const fetchBlob = async (d: Descriptor, arrived: () => void): Promise<void> => {
      const expected = { expectedDigest: d.digest, expectedSize: d.size, mediaType: d.mediaType };
      // Both ways verify the digest as the bytes arrive, and the store keeps nothing of a mismatch.
      if (workers && d.size >= threshold) {
        session ??= client.session(scopes);
        const job = { registry: client.registry, options: clientOptions(options), session: await session, repository: repo, digest: d.digest, size: d.size };
        const progress = hasBlobSubscribers();
        await store.writeBlobWith((path) => workers.download({ ...job, path, progress }, arrived), expected);
      } else {
        await store.writeBlobWith((path) => client.downloadBlob(repo, d.digest, d.size, path, arrived), expected);
      }
      downloaded++;
      bytes += d.size;
    };
    const settled = await Promise.allSettled(
      blobs.map(async (d) => {
        let stored: Promise<void> | undefined;
        await queue.add(async () => {
          if (await store.hasBlob(d.digest)) return;
          let arrived!: () => void;
          const received = new Promise<void>((resolve) => (arrived = resolve));
          stored = fetchBlob(d, arrived);
          // The slot goes to the next download once this one's last byte is in: its fsync (up to
          // a second for a big blob on a busy disk) and commit need no connection.
          await Promise.race([received, stored]);
        });
        await stored;
      }),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    await store.writeBlobBuffer(fetched.bytes, { expectedDigest: fetched.digest, mediaType: fetched.mediaType });
    const name = ref.tag !== undefined ? formatReference({ ...ref, digest: undefined }) : display;
    const tagged = await store.tagImage(name, fetched.digest);
    store.recordRepoDigest(fetched.digest, tagged, indexDigest ?? fetched.digest);
    const result: PullResult = { name: tagged, manifestDigest: fetched.digest, configDigest: manifest.config.digest, downloaded, bytes };
    if (indexDigest !== undefined) result.indexDigest = indexDigest;
    return result;
  } finally {
    await pool?.close();
    await client.close();
  }
}
