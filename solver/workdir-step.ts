import { chown, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Store } from '../cache/index.js';
import type { LayerDescriptor } from '../oci/index.js';
import { createSnapshot, resolveInRoot, resolveUser } from '../runtime/index.js';
import { commitUpperDir, layerDirs } from './layers.js';

/**
 * WORKDIR's directory, created with its parents as BuildKit's mkdir does (owned by the current
 * USER when one is set), as a layer of its own; an existing directory gives an empty layer.
 */
export async function mkdirWorkdir(store: Store, stateRoot: string, layers: readonly LayerDescriptor[], path: string, user: string): Promise<LayerDescriptor> {
  const snapshot = await createSnapshot({ stateRoot, lowerDirs: await layerDirs(store, layers) });
  try {
    // Symlinks in the image must resolve inside it, never to the host.
    const target = await resolveInRoot(snapshot.rootfs, path);
    const first = await mkdir(target, { recursive: true, mode: 0o755 });
    if (first !== undefined && user) {
      const { uid, gid } = await resolveUser(snapshot.rootfs, user);
      // Only the directories this step created change owner, parents included.
      let dir = target;
      while (dir.length >= first.length) {
        await chown(dir, uid, gid);
        dir = dirname(dir);
      }
    }
    await snapshot.unmount();
    return await commitUpperDir(store, snapshot.upperDir);
  } finally {
    await snapshot.release();
  }
}
