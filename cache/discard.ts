import { spawn } from 'node:child_process';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreLayout } from './layout.js';

const TRASH_TAG = 'trash';

/** True for a temp entry that only waits to be deleted. */
export function isTrash(tempName: string): boolean {
  return tempName.split('.')[1] === TRASH_TAG;
}

/**
 * Deletes a directory tree without waiting for it: a rebuilt layer already in the store leaves
 * its fresh copy behind, and unlinking 10,000 files can take seconds. The tree is renamed into
 * the store's tmp/ (so it is gone from where it was at once) and a detached `rm -rf` removes it,
 * outliving kiln if need be. Should that rm die, recovery hands the leftover to a new one.
 */
export async function discardTree(layout: StoreLayout, dir: string): Promise<void> {
  const trash = layout.tempPath(TRASH_TAG);
  try {
    await rename(dir, trash);
  } catch {
    await rm(dir, { recursive: true, force: true });
    return;
  }
  removeInBackground(trash);
}

/** discardTree for several trees at once: moved into one trash dir, removed by one `rm`. */
export async function discardTrees(layout: StoreLayout, dirs: readonly string[]): Promise<void> {
  if (dirs.length === 0) return;
  const trash = layout.tempPath(TRASH_TAG);
  await mkdir(trash);
  await Promise.all(dirs.map((d, i) => rename(d, join(trash, String(i))).catch(() => rm(d, { recursive: true, force: true }))));
  removeInBackground(trash);
}

/** `rm -rf path` in its own process group, which kiln neither waits for nor stops. */
export function removeInBackground(path: string): void {
  const child = spawn('rm', ['-rf', '--', path], { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
}
