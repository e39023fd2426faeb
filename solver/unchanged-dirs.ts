import { lstatSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { readXattrsSync, type FileXattrs } from '../oci/index.js';
import { lookupInLowers } from '../runtime/index.js';

/**
 * Removes from a RUN's upper dir the directories that hold no change: overlayfs copied them up
 * because something was made below them and later removed (a mount point, a temporary file), or
 * only their times changed. BuildKit's overlay differ does not count such a directory as a
 * change (util/overlay Changes, sameDirent: mode, owner, device and xattrs, never times), so its
 * layer for `RUN touch /tmp/x && rm /tmp/x` is empty where the raw upper dir would carry /tmp
 * with the time of the build. Only copied-up directories are looked into: a directory the layers
 * below lack, or an opaque one, is new with all it holds. One that still holds something, or
 * differs from the one below in mode, owner or extended attributes, stays. `lowerDirs` are
 * bottom first.
 */
export function dropUnchangedDirs(upperDir: string, lowerDirs: readonly string[]): void {
  const visit = (rel: string): boolean => {
    let left = 0;
    for (const d of readdirSync(rel === '' ? upperDir : join(upperDir, rel), { withFileTypes: true })) {
      const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory() && dropIfUnchanged(childRel)) continue;
      left++;
    }
    return left === 0;
  };
  const dropIfUnchanged = (rel: string): boolean => {
    const below = lookupInLowers(lowerDirs, `/${rel}`);
    if (below.kind !== 'dir') return false;
    const path = join(upperDir, rel);
    const mine = xattrs(path);
    if (mine === undefined || mine.opaque) return false;
    if (!visit(rel) || !sameAsBelow(path, mine.carried, below.hostPath)) return false;
    rmdirSync(path);
    return true;
  };
  visit('');
}

function sameAsBelow(path: string, mine: ReadonlyMap<string, Buffer>, belowPath: string): boolean {
  const a = lstatSync(path);
  const b = lstatSync(belowPath);
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return false;
  const theirs = xattrs(belowPath)?.carried;
  return theirs !== undefined && theirs.size === mine.size && [...mine].every(([n, v]) => theirs.get(n)?.equals(v));
}

/** A directory's extended attributes; undefined when they cannot be read (the directory then stays). */
function xattrs(path: string): FileXattrs | undefined {
  try {
    return readXattrsSync(path);
  } catch {
    return undefined;
  }
}
