import type { Store } from '../cache/index.js';
import { createSnapshot, createUpperSnapshot } from '../runtime/index.js';
import { accountsIn, accountsInLowers, copyUpDirs, mkdir, numericChown, resolveChown, upperOnlyMkdir } from './fileops/index.js';
import { layerDirs, type ChainLayer, type LayerCommits, type PendingLayer } from './layers.js';

/**
 * WORKDIR's directory, created with its parents as BuildKit's mkdir does (owned by the current
 * USER when one is set), as a layer of its own; an existing directory gives an empty layer.
 * Written straight into a bare upper dir, the directories an overlay would copy up made there
 * first, unless a symlink or a file on the way needs the merged view (or the USER's name cannot
 * be looked up without it).
 */
export async function mkdirWorkdir(store: Store, commits: LayerCommits, stateRoot: string, layers: readonly ChainLayer[], path: string, user: string, createdTime?: number): Promise<PendingLayer> {
  const lowerDirs = await layerDirs(store, layers);
  const copyUp = upperOnlyMkdir(lowerDirs, path);
  const named = user !== '' && !numericChown(user);
  const accounts = named ? accountsInLowers(lowerDirs) : undefined;
  if (copyUp && (!named || accounts)) {
    const snapshot = await createUpperSnapshot(stateRoot);
    try {
      if (copyUp !== 'exists') {
        copyUpDirs(lowerDirs, snapshot.upperDir, copyUp);
        await mkdir(snapshot.upperDir, path, user ? await resolveChown(accounts ?? accountsIn(snapshot.upperDir), user) : undefined, createdTime);
      }
      return await commits.commit(snapshot.upperDir);
    } finally {
      commits.release(snapshot);
    }
  }
  const snapshot = await createSnapshot({ stateRoot, lowerDirs });
  try {
    await mkdir(snapshot.rootfs, path, user ? await resolveChown(accountsIn(snapshot.rootfs), user) : undefined, createdTime);
    return await commits.commit(snapshot.upperDir, snapshot.unmount());
  } finally {
    commits.release(snapshot);
  }
}
