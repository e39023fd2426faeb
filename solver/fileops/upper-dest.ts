import { chmodSync, chownSync, lstatSync, mkdirSync, utimesSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { groupEntries, lookupInLowers, passwdEntries, readInLowers } from '../../runtime/index.js';
import { cleanRel, type SourceMatch, type TreeView } from '../context/index.js';
import type { Accounts } from './chown.js';
import { copyXattrsSync } from './xattrs.js';

/**
 * A COPY can write its layer straight into a bare upper dir, with no overlay of the layers below
 * mounted, when the copier would see nothing there that the upper dir alone does not show it: the
 * directories on the way to what it writes are then made in the upper dir as overlayfs copies
 * them up (copyUpDirs), and everything it writes is new. This says which directories those are,
 * from lookups through the lower dirs, or undefined when the copy needs the merged view: a symlink
 * on the way (the copier follows it), a non-directory where a directory must be (an error to
 * report), a directory source merging into a directory that already has entries of the same
 * names, or a file landing where a directory is.
 */
export function upperOnlyDirs(lowerDirs: readonly string[], view: TreeView, destPath: string, intoDir: boolean, matches: readonly SourceMatch[]): string[] | undefined {
  const kindAt = (path: string) => lookupInLowers(lowerDirs, path).kind;
  const dirs: string[] = [];
  const parts = destPath.split('/').filter((p) => p !== '');
  let dest: 'missing' | 'dir' | 'file' = 'dir';
  for (let i = 1; i <= parts.length && dest === 'dir'; i++) {
    const path = `/${parts.slice(0, i).join('/')}`;
    const kind = kindAt(path);
    if (kind === 'unknown') return undefined;
    if (kind === 'file' && i < parts.length) return undefined;
    if (kind === 'dir') dirs.push(path);
    dest = kind;
  }
  if (dest === 'file' && intoDir) return undefined;
  for (const m of matches) {
    if (m.entry.type === 'dir') {
      if (dest === 'file') return undefined;
      if (dest === 'dir' && view.list(m.entry.rel).some((name) => kindAt(posix.join(destPath, name)) !== 'missing')) return undefined;
      continue;
    }
    if (dest === 'missing' || (dest === 'file' && !intoDir)) continue;
    const kind = kindAt(posix.join(destPath, basename(m.given)));
    if (kind !== 'missing' && kind !== 'file') return undefined;
  }
  return dirs;
}

/**
 * WORKDIR into a bare upper dir: the existing directories on the way to `path` an overlay would
 * copy up before making what is missing of it; `exists` when all of it is there (nothing to make:
 * an empty layer); undefined when something on the way is not a plain directory (a symlink the
 * mkdir follows, a file it refuses).
 */
export function upperOnlyMkdir(lowerDirs: readonly string[], path: string): string[] | 'exists' | undefined {
  const parts = cleanRel(path).split('/').filter((p) => p !== '');
  const dirs: string[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const at = `/${parts.slice(0, i).join('/')}`;
    const kind = lookupInLowers(lowerDirs, at).kind;
    if (kind === 'missing') return dirs;
    if (kind !== 'dir') return undefined;
    dirs.push(at);
  }
  return 'exists';
}

/** /etc/passwd and /etc/group as the layers below hold them; undefined when only a mount could tell. */
export function accountsInLowers(lowerDirs: readonly string[]): Accounts | undefined {
  const passwd = readInLowers(lowerDirs, '/etc/passwd');
  const group = readInLowers(lowerDirs, '/etc/group');
  if (passwd === undefined || group === undefined) return undefined;
  return { passwd: async () => passwdEntries(passwd), groups: async () => groupEntries(group) };
}

/**
 * Makes each of `dirs` (container paths, parents first) in `upperDir` as overlayfs copies up a
 * directory of the merged view: the top-most lower dir's mode, owner, extended attributes (not
 * overlay's own) and times. A copy-up is no change to the directory it happens in, so times are
 * set last, children first: making a child would otherwise give its parent the time of now.
 */
export function copyUpDirs(lowerDirs: readonly string[], upperDir: string, dirs: readonly string[]): void {
  const times: [string, number, number][] = [];
  for (const dir of dirs) {
    const found = lookupInLowers(lowerDirs, dir);
    if (found.kind !== 'dir') throw new Error(`copy-up of ${dir}: no longer a directory in the layers below`);
    const st = lstatSync(found.hostPath);
    const target = join(upperDir, dir);
    mkdirSync(target);
    chownSync(target, st.uid, st.gid);
    chmodSync(target, st.mode & 0o7777);
    copyXattrsSync(found.hostPath, target);
    times.push([target, st.atimeMs / 1000, st.mtimeMs / 1000]);
  }
  for (const [target, atime, mtime] of times.reverse()) utimesSync(target, atime, mtime);
}
