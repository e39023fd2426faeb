import type { Store } from '../cache/index.js';
import { createSnapshot } from '../runtime/index.js';
import { mkdir, resolveChown } from './fileops/index.js';
import { layerDirs, type ChainLayer, type LayerCommits, type PendingLayer } from './layers.js';

/**
 * WORKDIR's directory, created with its parents as BuildKit's mkdir does (owned by the current
 * USER when one is set), as a layer of its own; an existing directory gives an empty layer.
 */
export async function mkdirWorkdir(store: Store, commits: LayerCommits, stateRoot: string, layers: readonly ChainLayer[], path: string, user: string, createdTime?: number): Promise<PendingLayer> {
  const snapshot = await createSnapshot({ stateRoot, lowerDirs: await layerDirs(store, layers) });
  try {
    await mkdir(snapshot.rootfs, path, user ? await resolveChown(snapshot.rootfs, user) : undefined, createdTime);
    return await commits.commit(snapshot.upperDir, snapshot.unmount());
  } finally {
    commits.track(snapshot.release());
  }
}
