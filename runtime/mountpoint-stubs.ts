import { lstat, mkdir, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { runCommand } from './command.js';
import { resolveInRoot } from './scoped-path.js';
import type { OciMount } from './spec.js';

/** Mount-point stubs made for one mount, deepest first, and the mtimes of the directory holding them. */
export interface StubChain {
  created: string[];
  parent: string;
  /** Before the stubs were made, to restore. */
  originalMtimeNs: bigint;
  /** Right after: if it still reads this after the run, the command did not touch the parent. */
  stubbedMtimeNs: bigint;
}

/**
 * runc would create missing mount points (/run/secrets/x, /etc/hosts in a minimal image...) in the
 * rootfs, and they would leak into the layer. We create them ourselves, remembering what we made,
 * and remove the still-empty stubs afterwards, as BuildKit does; the parent's mtime is restored
 * when the command did not change the parent itself.
 */
export async function createMountpoints(rootfs: string, mounts: OciMount[]): Promise<StubChain[]> {
  const chains: StubChain[] = [];
  for (const [i, m] of mounts.entries()) {
    // Mount points inside earlier mounts (/dev/pts in the /dev tmpfs) never touch the rootfs.
    if (mounts.slice(0, i).some((o) => m.destination.startsWith(o.destination.endsWith('/') ? o.destination : `${o.destination}/`))) continue;
    const target = await resolveInRoot(rootfs, m.destination);
    const created: string[] = [];
    let parent = target;
    while (parent.length > rootfs.length && !(await exists(parent))) {
      created.push(parent);
      parent = dirname(parent);
    }
    if (created.length === 0) continue;
    const originalMtimeNs = (await lstat(parent, { bigint: true })).mtimeNs;
    const asFile = m.type === 'bind' && !(await stat(m.source)).isDirectory();
    if (created.length > 1) await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    if (asFile) await writeFile(target, '', { flag: 'wx', mode: 0o644 });
    else await mkdir(target, { mode: 0o755 });
    chains.push({ created, parent, originalMtimeNs, stubbedMtimeNs: (await lstat(parent, { bigint: true })).mtimeNs });
  }
  return chains;
}

/** Removes the stubs while they are still empty: whatever the command put there stays. */
export async function removeMountpointStubs(chains: StubChain[]): Promise<void> {
  // Chains sharing a parent (/etc/hosts and /etc/resolv.conf) are undone together: the parent is
  // untouched if it still has the mtime the last stub gave it, and gets the one it had before the first.
  const byParent = new Map<string, StubChain[]>();
  for (const chain of chains) byParent.set(chain.parent, [...(byParent.get(chain.parent) ?? []), chain]);
  for (const [parent, group] of [...byParent].reverse()) {
    const untouched = await lstat(parent, { bigint: true }).then(
      (s) => s.mtimeNs === group[group.length - 1]!.stubbedMtimeNs,
      () => false,
    );
    let removedAll = true;
    for (const chain of [...group].reverse()) {
      for (const path of chain.created) {
        if (!(await removeIfEmpty(path))) {
          removedAll = false;
          break;
        }
      }
    }
    if (removedAll && untouched) await restoreMtime(parent, group[0]!.originalMtimeNs);
  }
}

/**
 * Node's utimes goes through a double and loses nanoseconds, which is fine for the whole seconds
 * extracted layers have; anything finer goes through touch, which keeps them exact.
 */
async function restoreMtime(path: string, ns: bigint): Promise<void> {
  const seconds = ns / 1_000_000_000n;
  const fraction = ns % 1_000_000_000n;
  if (fraction === 0n) {
    const { atime } = await lstat(path);
    await utimes(path, atime, Number(seconds));
    return;
  }
  await runCommand('touch', ['-c', '-m', '-d', `@${seconds}.${fraction.toString().padStart(9, '0')}`, path]);
}

async function removeIfEmpty(path: string): Promise<boolean> {
  try {
    const st = await lstat(path);
    if (st.isDirectory()) await rmdir(path);
    else if (st.isFile() && st.size === 0) await unlink(path);
    else return false;
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
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
