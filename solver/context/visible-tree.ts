import { chmodSync, chownSync, copyFileSync, lchownSync, linkSync, lutimesSync, mkdirSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { nsToSeconds, type TreeEntry, type TreeView } from './tree.js';

/**
 * Lays out at `dest` (which must not exist) the entry `rel` of a context as its view shows it:
 * what .dockerignore hides is not there, as in the context BuildKit transfers, which is all a
 * `RUN --mount=type=bind` of the context sees. Files are hard links to the context's (copies
 * where a link cannot be made, e.g. across filesystems); directories and symlinks are made anew
 * with the context's modes, owners and times. Sockets, FIFOs and devices are left out.
 */
export function layOutVisible(view: TreeView, rel: string, dest: string): void {
  const top = view.stat(rel);
  if (!top) return;
  const dirs: [string, TreeEntry][] = [];
  const place = (e: TreeEntry, target: string) => {
    switch (e.type) {
      case 'dir':
        mkdirSync(target);
        dirs.push([target, e]);
        return;
      case 'file':
        linkOrCopy(e, target);
        return;
      case 'symlink':
        symlinkSync(view.readlink(e.rel), target);
        lchownSync(target, e.uid, e.gid);
        lutimesSync(target, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
        return;
      default:
    }
  };
  place(top, dest);
  if (top.type === 'dir') view.walk(rel, (e, sub) => place(e, join(dest, sub)));
  // Children first: making an entry in a directory would give it the time of now.
  for (const [path, e] of dirs.reverse()) {
    chownSync(path, e.uid, e.gid);
    chmodSync(path, e.mode);
    utimesSync(path, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
  }
}

function linkOrCopy(e: TreeEntry, target: string): void {
  try {
    linkSync(e.path, target);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
  }
  copyFileSync(e.path, target);
  chownSync(target, e.uid, e.gid);
  chmodSync(target, e.mode);
  utimesSync(target, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
}
