import { existsSync } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { createDecompressor, layerCompression, MediaType, type Descriptor, type LayerDescriptor } from '../../oci/index.js';
import { BlobNotFoundError } from '../errors.js';
import { canonicalJson } from '../keys.js';
import type { Store } from '../store.js';
import { INLINE_CACHE_FIELD, isLayerCacheRecord, type LayerCacheRecord } from './format.js';
import type { ImportedCache } from './import.js';
import type { CacheLocation } from './location.js';
import { restoreCacheMount } from './mounts.js';

export interface BuildCacheOptions {
  /** `--cache-to type=inline`: the image config carries the records of its own layers. */
  inline?: boolean;
}

/**
 * The remote-cache side of one build. `attach` gives the build a view of the store in which the
 * imported records count as cache hits while their blobs stay remote: a blob is fetched only when
 * something reads it (a snapshot for a step that runs, the final image, an export), so a fresh
 * root pulls only what it needs. The view also notes every step record the build used or made,
 * which is what `--cache-to` exports.
 */
export class BuildCache {
  readonly warnings: string[] = [];
  private readonly used = new Map<string, LayerCacheRecord>();
  private readonly remoteHits = new Map<string, LayerCacheRecord>();
  private readonly fetching = new Map<string, Promise<void>>();
  private mountsRestored: Promise<void> | undefined;
  private raw: Store | undefined;
  private viewed: Store | undefined;

  constructor(
    private readonly imports: readonly ImportedCache[] = [],
    private readonly options: BuildCacheOptions = {},
  ) {}

  /** The store as the build should see it; call once, before the build. */
  attach(store: Store): Store {
    this.raw = store;
    this.viewed = new Proxy(store, {
      get: (target, prop) => {
        const own = this.overrides[prop as keyof typeof this.overrides];
        if (own) return own;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return this.viewed;
  }

  /** The attached view: reads of remote blobs fetch them into the store first. */
  get store(): Store {
    if (!this.viewed) throw new Error('BuildCache.store before attach');
    return this.viewed;
  }

  private get target(): Store {
    if (!this.raw) throw new Error('BuildCache used before attach');
    return this.raw;
  }

  private readonly overrides = {
    getCacheRecord: <T>(key: string): T | undefined => {
      const local = this.target.getCacheRecord<T>(key);
      if (local !== undefined) {
        if (isLayerCacheRecord(local)) this.used.set(key, local);
        return local;
      }
      for (const imp of this.imports) {
        const rec = imp.records.get(key);
        if (rec) {
          this.used.set(key, rec);
          this.remoteHits.set(key, rec);
          return rec as T;
        }
      }
      return undefined;
    },
    putCacheRecord: (key: string, value: unknown, digests?: string[]): void => {
      if (isLayerCacheRecord(value)) this.used.set(key, value);
      this.target.putCacheRecord(key, value, digests);
    },
    hasBlob: async (digest: string): Promise<boolean> => (await this.target.hasBlob(digest)) || this.source(digest) !== undefined,
    openBlob: (digest: string): Readable => {
      if (existsSync(this.target.blobPath(digest)) || !this.source(digest)) return this.target.openBlob(digest);
      const fetched = this.fetch(digest);
      const target = this.target;
      return Readable.from(
        (async function* () {
          await fetched;
          yield* target.openBlob(digest);
        })(),
      );
    },
    layerDir: async (layer: { digest: string; diffID: string }): Promise<string> => {
      // Only a step that runs needs a snapshot, so this is the moment its cache mounts are due.
      await this.restoreMounts();
      if (!existsSync(this.target.blobPath(layer.digest)) && this.source(layer.digest)) await this.fetch(layer.digest);
      return this.target.layerDir(layer);
    },
  };

  private source(digest: string): { d: Descriptor; location: CacheLocation } | undefined {
    for (const imp of this.imports) {
      const d = imp.blobs.get(digest);
      if (d) return { d, location: imp.location };
    }
    return undefined;
  }

  /** Fetches a remote blob into the store once, then keeps the records that hit it locally too. */
  private fetch(digest: string): Promise<void> {
    let p = this.fetching.get(digest);
    if (!p) {
      p = (async () => {
        const store = this.target;
        if (await store.hasBlob(digest)) return;
        const src = this.source(digest);
        if (!src) throw new BlobNotFoundError(digest);
        await store.writeBlob(...this.download(digest, src));
        store.transaction(() => {
          for (const [key, rec] of this.remoteHits) if (rec.layer.digest === digest) store.putCacheRecord(key, rec, [digest]);
        });
      })();
      this.fetching.set(digest, p);
    }
    return p;
  }

  /**
   * The remote blob that carries `digest` while it is not in the store (an imported record's layer
   * the build never read): an export names that blob rather than fetching the layer to send it.
   */
  remoteCarrier(digest: string): Descriptor | undefined {
    return existsSync(this.target.blobPath(digest)) ? undefined : this.source(digest)?.d;
  }

  /** What to store for `digest`: the remote blob, or the plain tar inside the compressed blob carrying it. */
  private download(digest: string, src: { d: Descriptor; location: CacheLocation }): Parameters<Store['writeBlob']> {
    const blob = src.location.openBlob(src.d);
    if (src.d.digest === digest) return [blob, { expectedDigest: digest, expectedSize: src.d.size, mediaType: src.d.mediaType }];
    // pipeline: a failure on either side (a corrupt gzip, a full disk) also ends the other.
    const plain = pipeline(blob, createDecompressor(layerCompression(src.d.mediaType)), () => undefined);
    return [plain, { expectedDigest: digest, mediaType: MediaType.ociLayer }];
  }

  /** Makes the image's layers local (the build calls this before writing the image). */
  async fetchLayers(layers: readonly LayerDescriptor[]): Promise<void> {
    await Promise.all(layers.filter((l) => this.source(l.digest)).map((l) => this.fetch(l.digest)));
  }

  /** Restores the imported cache mounts this root lacks, once; a failure is a warning, not a failed build. */
  private restoreMounts(): Promise<void> {
    this.mountsRestored ??= (async () => {
      const seen = new Set<string>();
      for (const imp of this.imports) {
        for (const m of imp.mounts) {
          if (seen.has(m.id)) continue;
          seen.add(m.id);
          try {
            await restoreCacheMount(this.target.root, m, imp.location);
          } catch (e) {
            this.warnings.push(`cache mount ${m.id} from ${imp.name} was not restored: ${(e as Error).message}`);
          }
        }
      }
    })();
    return this.mountsRestored;
  }

  /**
   * Records to export, sorted by key: `max` every step record the build used or made, `min` only
   * those whose layer is in the final image. Key order inside each is canonical, so the same
   * records always serialise to the same bytes.
   */
  records(mode: 'min' | 'max', imageLayers: readonly LayerDescriptor[]): Map<string, LayerCacheRecord> {
    const inImage = new Set(imageLayers.map((l) => l.digest));
    const keys = [...this.used.keys()].sort();
    const out = new Map<string, LayerCacheRecord>();
    for (const k of keys) {
      const rec = this.used.get(k)!;
      if (mode === 'max' || inImage.has(rec.layer.digest)) out.set(k, JSON.parse(canonicalJson(rec)) as LayerCacheRecord);
    }
    return out;
  }

  /** Extra image config fields: the inline cache, when asked for. */
  configFields(imageLayers: readonly LayerDescriptor[]): Record<string, unknown> {
    if (!this.options.inline) return {};
    return { [INLINE_CACHE_FIELD]: { records: Object.fromEntries(this.records('min', imageLayers)) } };
  }

  /** Closes the import locations (registry connections). */
  async close(): Promise<void> {
    await Promise.all(this.imports.map((i) => i.location.close()));
  }
}
