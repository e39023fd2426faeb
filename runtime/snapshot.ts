import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KilnError } from '../common/errors.js';
import { inUserNamespace } from '../common/user-namespace.js';
import { cleanupLeftoversOnce } from './cleanup.js';
import { checkRuntime } from './preflight.js';
import { mountpointLayer } from './mountpoint-layer.js';
import { checkedViaShell } from './shell-helper.js';
import { scratchDir } from './scratch-dir.js';
import { registerCleanup } from './shutdown.js';
import type { CreateSnapshotOptions, Snapshot } from './types.js';

/**
 * Inside a snapshot directory: `l/N` symlinks to the lower dirs, `u` upper, `w` work, `m` merged.
 * Mounting with relative paths from the snapshot directory keeps the option string short
 * however deep the state root is (overlay's options must fit in one page).
 * redirect_dir, metacopy and index are off so the upper dir is a plain, self-contained diff
 * that a tar layer can express and that can serve as a lower dir later. In a user namespace
 * overlay keeps opaque markers in `user.overlay.*` (userxattr), which refuses redirect_dir=off's
 * "follow"; nofollow neither makes nor follows redirects either.
 */
const OVERLAY_FIXED = 'upperdir=u,workdir=w,redirect_dir=off,metacopy=off,index=off';
const OVERLAY_FIXED_USERNS = 'upperdir=u,workdir=w,userxattr,redirect_dir=nofollow,metacopy=off,index=off';

export async function createSnapshot(options: CreateSnapshotOptions): Promise<Snapshot> {
  await checkRuntime();
  await cleanupLeftoversOnce(options.stateRoot);
  const id = `s${randomBytes(5).toString('hex')}`;
  const dir = join(await scratchDir(options.stateRoot), id);
  // A few dozen syscalls of microseconds each: synchronous calls beat a thread-pool round trip
  // apiece, which on a loaded machine costs more than the mount itself.
  mkdirSync(join(dir, 'l'), { recursive: true });
  for (const sub of ['u', 'w', 'm']) mkdirSync(join(dir, sub));

  // Overlay needs at least one lower dir; FROM scratch gets an empty one.
  const layers = options.container ? [mountpointLayer(options.stateRoot), ...options.lowerDirs] : options.lowerDirs;
  const lowers = layers.length > 0 ? layers : [join(dir, 'e')];
  if (layers.length === 0) mkdirSync(join(dir, 'e'));
  lowers.forEach((lower, i) => symlinkSync(lower, join(dir, 'l', String(i))));
  // overlay's leftmost lowerdir is the top-most layer.
  const lowerdir = lowers.map((_, i) => `l/${i}`).reverse().join(':');

  let mounted = false;
  let gone = false;
  const unregister = registerCleanup(() => release());

  async function unmount(): Promise<void> {
    if (!mounted) return;
    await checkedViaShell('E_RUNTIME_UMOUNT', `cannot unmount snapshot ${id}`, 'umount', [join(dir, 'm')]);
    mounted = false;
  }

  async function release(): Promise<void> {
    if (gone) return;
    await unmount();
    await rm(dir, { recursive: true, force: true });
    gone = true;
    unregister();
  }

  try {
    await checkedViaShell('E_RUNTIME_MOUNT', 'cannot mount overlay snapshot', 'mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowerdir},${inUserNamespace() ? OVERLAY_FIXED_USERNS : OVERLAY_FIXED}`, 'm'], {
      cwd: dir,
      hint: 'the state root must be on a filesystem that can hold overlay upper dirs (ext4, xfs, btrfs; not overlay or tmpfs without xattrs); rootless, a kernel of 5.11 or later',
    });
    mounted = true;
  } catch (err) {
    await release();
    throw err;
  }

  return {
    id,
    rootfs: join(dir, 'm'),
    upperDir: join(dir, 'u'),
    unmount,
    release,
    async keepUpper(dest: string) {
      if (gone) throw new KilnError('E_RUNTIME_SNAPSHOT_GONE', `snapshot ${id} was already released`);
      await unmount();
      await rename(join(dir, 'u'), dest);
      await release();
    },
  };
}
