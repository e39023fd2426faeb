import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** What runc mounts over in every container (see spec.ts), as directories and empty files. */
const DIRS = ['dev', 'proc', 'sys', 'etc'];
const FILES = ['etc/hosts', 'etc/resolv.conf'];

/** The container paths runc mounts over directly in the rootfs (the others are inside these mounts). */
export const MOUNTPOINTS = ['/proc', '/dev', '/sys', '/etc/resolv.conf', '/etc/hosts'];

const made = new Set<string>();

/**
 * A tiny read-only layer, placed beneath every container's image layers, holding the mount points
 * runc needs. An image without /etc/hosts then still has one to mount over, so runc never
 * creates it in the container's upper dir: no stub to remove afterwards and no copied-up /etc
 * in each RUN's layer (BuildKit's layers carry one). The image's own entries shadow these.
 * Made once per state root; a second process making it at the same time keeps the first one's.
 */
export function mountpointLayer(stateRoot: string): string {
  const dir = join(stateRoot, 'mountpoints');
  if (made.has(dir)) return dir;
  if (existsSync(join(dir, FILES[FILES.length - 1]!))) {
    made.add(dir);
    return dir;
  }
  const fresh = join(stateRoot, 'tmp', `${process.pid}.mountpoints.${randomBytes(4).toString('hex')}`);
  try {
    for (const d of DIRS) mkdirSync(join(fresh, d), { recursive: true, mode: 0o755 });
    for (const f of FILES) writeFileSync(join(fresh, f), '', { mode: 0o644 });
    renameSync(fresh, dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw e;
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
  made.add(dir);
  return dir;
}
