import { access, constants, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { KilnError } from '../common/errors.js';

let checked: Promise<string> | undefined;

/**
 * kiln mounts overlay snapshots and starts runc containers as root, so anyone else is told at
 * once, before a build or run gets halfway and fails on a mount or a runc error.
 */
export function checkPrivileges(uid: number | undefined = process.geteuid?.()): void {
  if (uid === undefined || uid === 0) return;
  throw new KilnError('E_RUNTIME_NOT_ROOT', `building and running containers needs root, and kiln runs as uid ${uid}`, {
    hint: 'run it as root, e.g. `sudo kiln ...`; rootless mode (containers in a user namespace mapped through /etc/subuid and /etc/subgid) is not supported yet',
  });
}

/**
 * Finds runc and makes sure the kernel has overlayfs, once per process. Resolves to runc's path.
 * Failing early here gives one clear message instead of a confusing one from deep inside a build.
 */
export function checkRuntime(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  checked ??= (async () => {
    checkPrivileges();
    const runc = await findRunc(env);
    await checkOverlay();
    return runc;
  })();
  checked.catch(() => (checked = undefined));
  return checked;
}

async function findRunc(env: NodeJS.ProcessEnv): Promise<string> {
  const explicit = env.KILN_RUNC;
  const candidates = explicit ? [explicit] : (env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).filter(Boolean).map((d) => join(d, 'runc'));
  for (const path of candidates) {
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory; try the next one
    }
  }
  throw new KilnError('E_RUNTIME_NO_RUNC', explicit ? `runc not found at ${explicit} (KILN_RUNC)` : 'runc is not installed (not found on PATH)', {
    hint: 'install it, e.g. `apt-get install runc` on Debian/Ubuntu or `dnf install runc` on Fedora, or point KILN_RUNC at the binary',
  });
}

async function checkOverlay(): Promise<void> {
  let filesystems = '';
  try {
    filesystems = await readFile('/proc/filesystems', 'utf8');
  } catch (cause) {
    throw new KilnError('E_RUNTIME_NO_OVERLAY', 'cannot read /proc/filesystems to check for overlayfs', { cause, hint: 'kiln needs /proc mounted' });
  }
  if (!/\toverlay$/m.test(filesystems)) {
    throw new KilnError('E_RUNTIME_NO_OVERLAY', 'the kernel does not support overlayfs (no "overlay" in /proc/filesystems)', {
      hint: 'load the module with `modprobe overlay` (package linux-modules-extra on some distributions), or use a kernel built with CONFIG_OVERLAY_FS',
    });
  }
}
