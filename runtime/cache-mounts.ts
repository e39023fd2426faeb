import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KilnError } from '../common/errors.js';
import { runCommand } from './command.js';
import { lock, tryLock, type Unlock } from './lock.js';

export interface CacheMountRequest {
  id: string;
  sharing?: 'shared' | 'private' | 'locked';
  uid?: number;
  gid?: number;
  mode?: number;
  /** What a new cache starts as a copy of (BuildKit's cache mount `from=`/`source=`). */
  seed?: string;
}

export interface AcquiredCacheDir {
  path: string;
  release: Unlock;
}

/** `<root>/cachemounts/<hash of id>/<n>`: instance 0 is the shared one, others exist for `private`. */
export function cacheMountBase(stateRoot: string, id: string): string {
  return join(stateRoot, 'cachemounts', createHash('sha256').update(id).digest('hex').slice(0, 24));
}

/**
 * Hands out the persistent directory for a `type=cache` mount, honouring `sharing`:
 * shared - everyone uses instance 0 at once; locked - instance 0, one user at a time;
 * private - the first instance nobody is using, so concurrent users never see each other.
 */
export async function acquireCacheDir(stateRoot: string, req: CacheMountRequest, signal?: AbortSignal): Promise<AcquiredCacheDir> {
  const base = cacheMountBase(stateRoot, req.id);
  await mkdir(base, { recursive: true });
  const sharing = req.sharing ?? 'shared';
  let instance = 0;
  let release: Unlock = async () => undefined;
  if (sharing === 'locked') {
    release = await lock(join(base, '0.lock'), signal);
  } else if (sharing === 'private') {
    for (;;) {
      const got = await tryLock(join(base, `${instance}.lock`));
      if (got) {
        release = got;
        break;
      }
      instance++;
    }
  }
  const path = join(base, String(instance));
  try {
    await prepare(path, req);
  } catch (err) {
    await release();
    throw err;
  }
  return { path, release };
}

/**
 * A cache directory for one container only, at `path` (in its bundle, removed with it): what a
 * step run with --no-cache mounts, as BuildKit gives such a step a new cache it then drops.
 */
export async function throwAwayCacheDir(path: string, req: CacheMountRequest): Promise<AcquiredCacheDir> {
  await makeCacheDir(path, req);
  return { path, release: async () => undefined };
}

/**
 * A new cache directory: a copy of the seed (owners, modes, times, links and extended attributes
 * kept, as `cp -a` keeps them), else empty with the mount's owner and mode.
 */
async function makeCacheDir(path: string, req: CacheMountRequest): Promise<void> {
  if (req.seed !== undefined) {
    await mkdir(dirname(path), { recursive: true });
    const r = await runCommand('cp', ['-a', '--', req.seed, path]);
    if (r.code !== 0) throw new KilnError('E_RUNTIME_CACHE_SEED', `cannot start the cache mount ${req.id} from ${req.seed}: ${r.stderr.trim()}`);
    return;
  }
  await mkdir(path, { recursive: true });
  await chown(path, req.uid ?? 0, req.gid ?? 0);
  await chmod(path, req.mode ?? 0o755);
}

/** uid/gid/mode apply when the cache is first created, as in BuildKit. */
async function prepare(path: string, req: CacheMountRequest): Promise<void> {
  try {
    await stat(path);
    return;
  } catch {
    // first use
  }
  const staging = `${path}.new-${process.pid}`;
  await makeCacheDir(staging, req);
  try {
    await rename(staging, path);
  } catch {
    // Someone else created it and already uses it; theirs wins.
    await rm(staging, { recursive: true, force: true });
  }
}
