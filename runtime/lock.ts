import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isLiveOwner, ownerTag } from './owner.js';

export type Unlock = () => Promise<void>;

/** A freshly created lock file may be empty for a moment before its owner tag is written. */
const EMPTY_GRACE_MS = 10_000;

/**
 * A lock file holding its owner's tag, shared between kiln processes. Node has no flock(), so a
 * lock whose owner died is recognised by the tag and broken by the next one who wants it.
 */
export async function tryLock(path: string): Promise<Unlock | undefined> {
  for (;;) {
    try {
      await writeFile(path, ownerTag(), { flag: 'wx' });
      return () => unlink(path).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (!(await isStale(path))) return undefined;
    await unlink(path).catch(() => undefined);
  }
}

export async function lock(path: string, signal?: AbortSignal): Promise<Unlock> {
  let delay = 10;
  for (;;) {
    signal?.throwIfAborted();
    const unlock = await tryLock(path);
    if (unlock) return unlock;
    await sleep(delay, undefined, signal ? { signal } : undefined);
    delay = Math.min(delay * 2, 200);
  }
}

async function isStale(path: string): Promise<boolean> {
  try {
    const owner = await readFile(path, 'utf8');
    if (owner !== '') return !isLiveOwner(owner);
    return Date.now() - (await stat(path)).mtimeMs > EMPTY_GRACE_MS;
  } catch {
    // Gone between our attempt and now: worth another try.
    return true;
  }
}
