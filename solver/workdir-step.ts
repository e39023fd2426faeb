import type { Store } from '../cache/index.js';
import type { LayerDescriptor } from '../oci/index.js';
import { createSnapshot } from '../runtime/index.js';
import { mkdir, resolveChown } from './fileops/index.js';
import { commitUpperDir, layerDirs } from './layers.js';

/**
 * WORKDIR's directory, created with its parents as BuildKit's mkdir does (owned by the current
 * USER when one is set), as a layer of its own; an existing directory gives an empty layer.
 */
export async function mkdirWorkdir(store: Store, stateRoot: string, layers: readonly LayerDescriptor[], path: string, user: string): Promise<LayerDescriptor> {
  const snapshot = await createSnapshot({ stateRoot, lowerDirs: await layerDirs(store, layers) });
  try {
    await mkdir(snapshot.rootfs, path, user ? await resolveChown(snapshot.rootfs, user) : undefined);
    await snapshot.unmount();
    return await commitUpperDir(store, snapshot.upperDir);
  } finally {
    await snapshot.release();
  }
}
