import { readFile } from 'node:fs/promises';
import { KilnError } from '../common/errors.js';
import { findProgram, isExecutable } from './find-program.js';
import { rootlessSetup } from './rootless-setup.js';
import { prepareSealedRunc } from './sealed-runc.js';

let checked: Promise<string> | undefined;

/**
 * kiln mounts overlay snapshots and starts runc containers as root: real root, or root of the user
 * namespace the kiln command enters for an unprivileged user. Anyone else is told at once what to
 * configure, before a build or run gets halfway and fails on a mount or a runc error.
 */
export function checkPrivileges(uid: number | undefined = process.geteuid?.()): void {
  if (uid === undefined || uid === 0) return;
  rootlessSetup();
  throw new KilnError('E_RUNTIME_NOT_ROOT', `building and running containers needs root or a user namespace, and this process runs as uid ${uid} in neither`, {
    hint: 'use the kiln command, which enters its user namespace by itself, or run as root',
  });
}

/**
 * Finds runc and makes sure the kernel has overlayfs, once per process. Resolves to runc's path.
 * Failing early here gives one clear message instead of a confusing one from deep inside a build.
 */
export function checkRuntime(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  checked ??= (async () => {
    checkPrivileges();
    const runc = findRunc(env);
    await checkOverlay();
    return runc;
  })();
  checked.catch(() => (checked = undefined));
  return checked;
}

/**
 * For a build about to start several containers: begins the sealed copy of runc that spares each
 * container start a copy of runc (sealed-runc.ts). A missing runc is left for checkRuntime to report.
 */
export function warmUpRuntime(env: NodeJS.ProcessEnv = process.env): void {
  let runc: string;
  try {
    runc = findRunc(env);
  } catch {
    return;
  }
  prepareSealedRunc(runc, env);
}

function findRunc(env: NodeJS.ProcessEnv): string {
  const explicit = env.KILN_RUNC;
  const found = explicit ? (isExecutable(explicit) ? explicit : undefined) : findProgram('runc', env);
  if (found) return found;
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
