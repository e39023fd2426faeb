import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

const MAX_LINKS = 40;

/**
 * Maps a path inside a container root to a host path, following symlinks the way the
 * container would see them: absolute links and `..` never leave `root`. Missing trailing
 * components are kept as they are. This is how runc places mounts, so it tells us which
 * mount points runc will have to create.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const pending = posix.normalize(`/${path}`).split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    let isLink = false;
    try {
      isLink = (await lstat(host)).isSymbolicLink();
    } catch {
      done.push(part, ...pending);
      break;
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) {
      done.push(part, ...pending);
      break;
    }
    const target = await readlink(host);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return join(root, ...done);
}
