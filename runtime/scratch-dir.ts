import { mkdirSync, rmdirSync } from 'node:fs';
import { onInterrupt } from '../common/interrupt.js';
import { ownerDir } from './owner.js';

const made = new Map<string, Promise<string>>();
let removalRegistered = false;

/**
 * This process's scratch dir under `stateRoot` (snapshots and bundles go in it): made once, in
 * rt/, which the store marks an Orlov top dir (cache/top-dirs.ts), so the trees this process
 * makes start in a block group chosen for it; marking each process's dir itself cost a chattr
 * (~6 ms) before its first step could run. Removed when the process exits or is interrupted,
 * once empty, so that `kiln check` never finds it as a dead process's leftover. Recursive mkdirs
 * below it make it again should something remove it meanwhile. A failed first mkdir is not
 * remembered: the next call tries again.
 */
export function scratchDir(stateRoot: string): Promise<string> {
  let dir = made.get(stateRoot);
  if (!dir) {
    if (!removalRegistered) {
      removalRegistered = true;
      process.once('exit', removeEmptyScratchDirs);
      onInterrupt(removeEmptyScratchDirs);
    }
    dir = makeScratchDir(ownerDir(stateRoot));
    made.set(stateRoot, dir);
    dir.catch(() => made.delete(stateRoot));
  }
  return dir;
}

async function makeScratchDir(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  return dir;
}

function removeEmptyScratchDirs(): void {
  for (const stateRoot of made.keys()) {
    try {
      rmdirSync(ownerDir(stateRoot));
    } catch {
      // Not empty (a snapshot still mounted) or already gone: startup cleanup sees to the rest.
    }
  }
}
