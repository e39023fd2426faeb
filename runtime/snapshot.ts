import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { KilnError } from '../common/errors.js';
import { inUserNamespace } from '../common/user-namespace.js';
import { kernelAtLeast } from './kernel-config.js';
import { cleanupLeftoversOnce } from './cleanup.js';
import { checkRuntime } from './preflight.js';
import { mountpointLayer } from './mountpoint-layer.js';
import { checkedViaShell } from './shell-helper.js';
import { scratchDir } from './scratch-dir.js';
import { registerCleanup } from './shutdown.js';
import type { OciMount } from './spec.js';
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
const OVERLAY_FIXED = ['redirect_dir=off', 'metacopy=off', 'index=off'];
const OVERLAY_FIXED_USERNS = ['userxattr', 'redirect_dir=nofollow', 'metacopy=off', 'index=off'];

export async function createSnapshot(options: CreateSnapshotOptions): Promise<Snapshot> {
  const dir = await snapshotPath(options.stateRoot);
  makeSnapshotDirs(dir);
  mkdirSync(join(dir, 'l'));
  // Overlay needs at least one lower dir; FROM scratch gets an empty one.
  const layers = options.container ? [mountpointLayer(options.stateRoot), ...options.lowerDirs] : options.lowerDirs;
  const lowers = layers.length > 0 ? layers : [join(dir, 'e')];
  if (layers.length === 0) mkdirSync(join(dir, 'e'));
  lowers.forEach((lower, i) => symlinkSync(lower, join(dir, 'l', String(i))));
  const id = basename(dir);
  // overlay's leftmost lowerdir is the top-most layer.
  const lowerdir = lowers.map((_, i) => `l/${i}`).reverse().join(':');
  let mounted = false;
  const unmount = async (): Promise<void> => {
    if (!mounted) return;
    await checkedViaShell('E_RUNTIME_UMOUNT', `cannot unmount snapshot ${id}`, 'umount', [join(dir, 'm')]);
    mounted = false;
  };
  const snapshot = trackedSnapshot(dir, unmount);
  try {
    await checkedViaShell('E_RUNTIME_MOUNT', 'cannot mount overlay snapshot', 'mount', ['-t', 'overlay', 'overlay', '-o', [`lowerdir=${lowerdir}`, 'upperdir=u', 'workdir=w', ...overlayOptions()].join(','), 'm'], {
      cwd: dir,
      hint: 'the state root must be on a filesystem that can hold overlay upper dirs (ext4, xfs, btrfs; not overlay or tmpfs without xattrs); rootless, a kernel of 5.11 or later',
    });
    mounted = true;
  } catch (err) {
    await snapshot.release();
    throw err;
  }
  return snapshot;
}

/** A snapshot that runc mounts, as `rootMount`, over its empty `rootfs`, in the container's mount namespace. */
export interface ContainerSnapshot extends Snapshot {
  rootMount: OciMount;
}

/**
 * Leaves an overlay's data less than a page, with room to spare for what runc may add. Beyond
 * it (some 70 layers at a usual state root) only createSnapshot's relative paths fit.
 */
const MAX_OVERLAY_DATA = 3500;

/** What overlay's option string cannot hold unescaped: its separators and escape. */
const OPTION_SPECIALS = /[,:\\]/;

/**
 * A container's rootfs for runc to mount itself (a RUN container's: the standard mount points
 * come from the lower dirs), as its first mount: the overlay then lives and dies with the
 * container's mount namespace, and the host neither mounts nor unmounts anything. Its options
 * name every dir by its absolute path, so a chain of layers too long for a page, or a path with
 * a `,` `:` or `\` in it, gives undefined: only createSnapshot's relative paths do then.
 */
export async function createContainerSnapshot(options: Omit<CreateSnapshotOptions, 'container'>): Promise<ContainerSnapshot | undefined> {
  const dir = await snapshotPath(options.stateRoot);
  // overlay's leftmost lowerdir is the top-most layer.
  const lowers = [mountpointLayer(options.stateRoot), ...options.lowerDirs].reverse();
  const data = [`lowerdir=${lowers.join(':')}`, `upperdir=${join(dir, 'u')}`, `workdir=${join(dir, 'w')}`, ...overlayOptions()];
  if (data.join(',').length > MAX_OVERLAY_DATA || [dir, ...lowers].some((p) => OPTION_SPECIALS.test(p))) return undefined;
  makeSnapshotDirs(dir);
  return { ...trackedSnapshot(dir, async () => undefined), rootMount: { destination: '/', type: 'overlay', source: 'overlay', options: data } };
}

/**
 * `volatile` (Linux 5.10+): overlay skips every sync of its upper filesystem, above all the
 * syncfs of the whole filesystem it does on unmount: 20-30 ms for a COPY of 1,000 small files,
 * paid on the step's critical path, and by every RUN container's exit. A snapshot is thrown
 * away or becomes a layer dir, which, like the dirs kiln extracts from pulled layers, is never
 * synced; the layer's blob, packed from it, is fsynced as every blob is. Buildah mounts its
 * build containers volatile for the same reason. An fsync inside a RUN is a no-op then.
 */
/**
 * A snapshot that is only an upper dir: nothing is mounted, and its `rootfs` is no merged view.
 * For a COPY that writes the layer's changes straight into it, having made there the directories
 * an overlay would have copied up (solver/fileops/upper-dest.ts): no mount or unmount to wait for.
 */
export async function createUpperSnapshot(stateRoot: string): Promise<Snapshot> {
  const dir = await snapshotPath(stateRoot);
  makeSnapshotDirs(dir);
  return trackedSnapshot(dir, async () => undefined);
}

function overlayOptions(): string[] {
  const fixed = inUserNamespace() ? OVERLAY_FIXED_USERNS : OVERLAY_FIXED;
  return kernelAtLeast(5, 10) ? [...fixed, 'volatile'] : fixed;
}

/** Where a new snapshot goes, in this process's scratch dir, once the runtime is known to work. */
async function snapshotPath(stateRoot: string): Promise<string> {
  await checkRuntime();
  await cleanupLeftoversOnce(stateRoot);
  return join(await scratchDir(stateRoot), `s${randomBytes(5).toString('hex')}`);
}

/**
 * The snapshot dir with its upper (`u`), work (`w`) and mount (`m`) dirs. A few syscalls of
 * microseconds each: synchronous calls beat a thread-pool round trip apiece, which on a loaded
 * machine costs more than the mount itself.
 */
function makeSnapshotDirs(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const sub of ['u', 'w', 'm']) mkdirSync(join(dir, sub));
}

/** The Snapshot over made dirs, released (unmounted, removed) by the process's cleanup if nobody else does. */
function trackedSnapshot(dir: string, unmount: () => Promise<void>): Snapshot {
  const id = basename(dir);
  let gone = false;
  const unregister = registerCleanup(() => release());
  async function release(): Promise<void> {
    if (gone) return;
    await unmount();
    await rm(dir, { recursive: true, force: true });
    gone = true;
    unregister();
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
