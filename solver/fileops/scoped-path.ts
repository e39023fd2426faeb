import { chmodSync, chownSync, lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
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
 * symlinks are followed inside the root. Returns the host path of the directory.
 */
export function mkdirAllScoped(root: string, path: string, mode: number, owner: Owner | undefined): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let cur = root;
  let rel = '';
  for (const part of parts) {
    rel = `${rel}/${part}`;
    const next = resolveScoped(root, rel);
    let st;
    try {
      st = lstatSync(next);
    } catch {
      mkdirSync(next);
      chmodSync(next, mode);
      if (owner) chownSync(next, owner.uid, owner.gid);
      cur = next;
      continue;
    }
    if (!st.isDirectory()) throw new FileOpError('E_COPY_DEST', `cannot create directory ${rel}: a non-directory exists there`);
    cur = next;
  }
  return cur;
}
