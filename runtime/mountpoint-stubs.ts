import { lstat, rmdir, unlink, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { resolveInRoot } from './scoped-path.js';

/** Paths runc will create for one mount, deepest first, and the times of the directory holding them. */
export interface StubChain {
  created: string[];
  parent: string;
  atime: Date;
  mtime: Date;
}

/**
 * runc creates missing mount points (/run/secrets/x, /etc/hosts in a minimal image...) in the
 * rootfs, which would leak into the layer. We note which paths do not exist before the run and
 * remove the empty stubs afterwards, as BuildKit does, restoring the parent's times so the parent
 * does not look modified either.
 */
export async function missingMountpoints(rootfs: string, destinations: string[]): Promise<StubChain[]> {
  const chains: StubChain[] = [];
  for (const destination of destinations) {
    let path = await resolveInRoot(rootfs, destination);
    const created: string[] = [];
    while (path.length > rootfs.length && !(await exists(path))) {
      created.push(path);
      path = dirname(path);
    }
    if (created.length === 0 || chains.some((c) => c.created.includes(created[0]!))) continue;
    const st = await lstat(path);
    chains.push({ created, parent: path, atime: st.atime, mtime: st.mtime });
  }
  return chains;
}

/** Removes what runc created, but only while it is still an empty stub: the step's own files stay. */
export async function removeMountpointStubs(chains: StubChain[]): Promise<void> {
  for (const chain of [...chains].reverse()) {
    let removedAll = true;
    let removedAny = false;
    for (const path of chain.created) {
      const outcome = await removeIfEmpty(path);
      if (outcome === 'kept') {
        removedAll = false;
        break;
      }
      removedAny ||= outcome === 'removed';
    }
    // Touching an untouched parent would copy it up into the diff, so only restore what changed.
    if (removedAll && removedAny) await utimes(chain.parent, chain.atime, chain.mtime).catch(() => undefined);
  }
}

async function removeIfEmpty(path: string): Promise<'removed' | 'absent' | 'kept'> {
  try {
    const st = await lstat(path);
    if (st.isDirectory()) await rmdir(path);
    else if (st.isFile() && st.size === 0) await unlink(path);
    else return 'kept';
    return 'removed';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'kept';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
