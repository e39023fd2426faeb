import { renameSync } from 'node:fs';
import type { BlobInfo, Store } from '../cache/index.js';
import { DEFAULT_GZIP_LEVEL, mediaTypeFor, packLayer, packSmallLayer, type LayerDescriptor, type PackedLayer, type PackOptions } from '../oci/index.js';
import type { Snapshot } from '../runtime/index.js';

/**
 * The layers builds make are stored as plain tars, whose digest is their diffID: compressing an
 * 11 MB layer was most of a one-file-change rebuild's last 200 ms. Pushes and archives compress
 * them on the way out (oci/image `exportLayers`), and keep the compressed copy for the next time.
 * A build whose image is about to go out gzipped anyway packs gzip itself, beside its steps, as
 * exportLayers would have: compressing after the build cost S6's 512 MiB layer 3 s.
 */
export type LayerPacking = 'plain' | 'gzip';

const PACKING: Record<LayerPacking, PackOptions> = { plain: { compression: 'none' }, gzip: { compression: 'gzip', level: DEFAULT_GZIP_LEVEL } };

/**
 * A layer a step has just made: its extracted dir is in the store at once, so the next step can
 * mount it as a lower dir, while its blob is packed and written in the background. Cache keys
 * depend on definitions and parents' keys, never on layer digests, so nothing but the image and
 * the cache record waits for `descriptor`.
 */
export interface PendingLayer {
  dir: string;
  descriptor: Promise<LayerDescriptor>;
}

/** One layer of a chain a step builds on: committed, or still being committed. */
export type ChainLayer = LayerDescriptor | PendingLayer;

function isPending(l: ChainLayer): l is PendingLayer {
  return 'descriptor' in l;
}

/** Work left running in the background: waited for as a whole, and its first failure kept. */
class BackgroundWork {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly onError: (e: unknown) => void = () => undefined) {}

  add(work: Promise<unknown>): void {
    const p: Promise<void> = work
      .then(
        () => undefined,
        (e: unknown) => {
          this.failure ??= { error: e };
          this.onError(e);
        },
      )
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Waits until nothing is running, work added meanwhile included. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /** Throws the first failure, if any. */
  check(): void {
    if (this.failure) throw this.failure.error;
  }
}

/**
 * The layer commits and snapshot releases of one build that run off the steps' critical path.
 * A failure is reported at once through `onError` (which stops the build) and again by settle().
 */
export class LayerCommits {
  private readonly work: BackgroundWork;
  /** Released snapshots' scratch dirs being removed. */
  private readonly removals = new BackgroundWork();
  /** Fresh dirs of layers another dir already holds; kept for the GC once no mount can use them. */
  private readonly spares: { path: string; diskBytes: number }[] = [];
  /** Dirs of layers whose commit failed; deleted once no mount can use them. */
  private readonly failed: string[] = [];

  constructor(
    private readonly store: Store,
    onError: (e: unknown) => void,
    private readonly packing: LayerPacking = 'plain',
  ) {
    this.work = new BackgroundWork(onError);
  }

  /**
   * Turns a finished upper dir into a pending layer: once `unmounted` (the overlay's unmount, if
   * still under way) is done, the dir is moved into the store and its commit starts, after the
   * steps ready to go have had their turn unless the layer is `big`. Packing a small layer is a
   * few ms of work on this thread, which sat between one RUN's exit and the next one's spawn, and
   * runs beside the next container's start instead; a big layer's pack is what the build ends up
   * waiting for, so it starts at once.
   */
  async commit(upperDir: string, unmounted: Promise<void> = Promise.resolve(), big = false): Promise<PendingLayer> {
    await unmounted;
    const dir = this.store.pendingLayerPath();
    // One syscall: as a thread-pool trip its completion waited for whatever this thread was doing.
    renameSync(upperDir, dir);
    const descriptor = this.pack(dir, big);
    this.track(descriptor);
    return { dir, descriptor };
  }

  /** Lets the build go on while `work` finishes; settle() waits for it. */
  track(work: Promise<unknown>): void {
    this.work.add(work);
  }

  /**
   * Releases a step's snapshot. settle() waits until nothing is mounted there; the scratch dir is
   * removed in the background, and removed() waits for that: a build does after writing its
   * image, since the removal's thread-pool trips cost 2-4 ms behind its last layer.
   */
  release(snapshot: Snapshot): void {
    const unmounted = snapshot.unmount();
    this.track(unmounted);
    this.removals.add(unmounted.then(() => snapshot.release()));
  }

  /** Adds the removal of some other scratch dir (a RUN's bundle) to what removed() waits for. */
  removeLater(removal: Promise<void>): void {
    this.removals.add(removal);
  }

  /** Waits until the scratch dirs of every released snapshot are removed; throws the first failure. */
  async removed(): Promise<void> {
    await this.removals.idle();
    this.removals.check();
  }

  /**
   * Waits for every commit and unmount, then hands the spare dirs to the GC and deletes those of
   * failed commits; call once the build's mounts are gone. Throws the first background failure.
   */
  async settle(): Promise<void> {
    await this.work.idle();
    this.store.keepSpareLayerDirs(this.spares.splice(0));
    await this.store.discardLayerDirs(this.failed.splice(0));
    this.work.check();
  }

  private async pack(dir: string, big: boolean): Promise<LayerDescriptor> {
    let stored: { blob: BlobInfo; info: PackedLayer };
    try {
      if (!big) await new Promise((resolve) => setImmediate(resolve));
      stored = await storeLayer(this.store, dir, PACKING[this.packing]);
    } catch (e) {
      // Never recorded, so nothing else will ever use or remove it (a full disk, say).
      this.failed.push(dir);
      throw e;
    }
    const { blob, info } = stored;
    if (!this.store.recordLayerDir(info.diffID, dir, info.diskBytes)) this.spares.push({ path: dir, diskBytes: info.diskBytes });
    return { mediaType: info.mediaType, digest: blob.digest, size: blob.size, diffID: info.diffID };
  }
}

/**
 * Packs `dir` and writes the blob into the store: in memory when it is small, else streamed, under
 * the digest packLayer computed of the very bytes it streams (hashing them again cost the main
 * thread ~8 ms for an 11 MB layer, ~60 for 100 MB).
 */
async function storeLayer(store: Store, dir: string, options: PackOptions): Promise<{ blob: BlobInfo; info: PackedLayer }> {
  const small = await packSmallLayer(dir, options);
  if (small) return { blob: await store.writeBlobBuffer(small.blob, { mediaType: small.layer.mediaType }), info: small.layer };
  const packed = packLayer(dir, options);
  const [blob, info] = await Promise.all([store.writeDigestedBlob(packed.stream, packed.result, { mediaType: mediaTypeFor(options.compression) }), packed.result]);
  return { blob, info };
}

/** Waits for the chain's pending layers. */
export function committedLayers(layers: readonly ChainLayer[]): Promise<LayerDescriptor[]> {
  return Promise.all(layers.map((l) => (isPending(l) ? l.descriptor : l)));
}

/**
 * Extracted dirs of a layer chain, bottom-most first (what a snapshot's lowerDirs wants). A layer
 * that comes twice (two empty RUN layers, say) is kept only at its top-most place: overlayfs
 * refuses a lower dir given twice, and the lower copy adds nothing the upper one does not.
 */
export async function layerDirs(store: Store, layers: readonly ChainLayer[]): Promise<string[]> {
  const dirs = await Promise.all(layers.map((l) => (isPending(l) ? l.dir : store.layerDir(l))));
  return dirs.filter((d, i) => dirs.indexOf(d, i + 1) === -1);
}

/** Packs a plain directory (not an overlay upper dir) as a layer, leaving the directory alone. */
export async function packDirectory(store: Store, dir: string): Promise<LayerDescriptor> {
  const { blob, info } = await storeLayer(store, dir, { ...PACKING.plain, overlayWhiteouts: false });
  return { mediaType: info.mediaType, digest: blob.digest, size: blob.size, diffID: info.diffID };
}
