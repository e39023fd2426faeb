import { chmodSync, chownSync, lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { FileOpError } from './errors.js';

const MAX_LINKS = 40;

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Maps a path inside a root filesystem to a host path, following symlinks as a process chrooted
 * there would (absolute targets and `..` never leave `root`). Missing trailing components are
 * kept. With `followFinal` false a final symlink is not followed.
 */
export function resolveScoped(root: string, path: string, followFinal = true): string {
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    let isLink: boolean;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch {
      done.push(part, ...pending);
      break;
    }
    if (!isLink || (!followFinal && pending.length === 0)) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new FileOpError('E_COPY_DEST', `too many levels of symbolic links resolving ${path}`);
    const target = readlinkSync(host);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return join(root, ...done);
}

/**
 * `mkdir -p` inside a root: missing directories are created with `mode` and `owner`, existing
 * symlinks are followed inside the root. Returns the host path of the directory; the host path
 * of each directory it made is pushed onto `made`.
 */
export function mkdirAllScoped(root: string, path: string, mode: number, owner: Owner | undefined, made?: string[]): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let cur = root;
  let rel = '';
  for (const part of parts) {
    rel = `${rel}/${part}`;
    cur = resolveScoped(root, rel);
    // Components past a symlink may be missing too: create each of them, never following anything.
    let host = root;
    for (const c of relative(root, cur).split(sep).filter(Boolean)) {
      host = join(host, c);
      let st;
      try {
        st = lstatSync(host);
      } catch {
        mkdirSync(host);
        chmodSync(host, mode);
        if (owner) chownSync(host, owner.uid, owner.gid);
        made?.push(host);
        continue;
      }
      if (!st.isDirectory()) throw new FileOpError('E_COPY_DEST', `cannot create directory ${rel}: a non-directory exists there`);
    }
  }
  return cur;
}
