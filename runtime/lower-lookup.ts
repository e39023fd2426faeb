import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsXattr, opaqueMarked } from '../common/fs-xattr.js';

/** What one lower dir holds at a path, in overlay form (whiteouts are 0/0 char devices). */
type Entry = 'absent' | 'whiteout' | 'dir' | 'opaque-dir' | 'file' | 'symlink' | 'other';

/**
 * What the merged view of a stack of lower dirs has at a path, found without mounting them, and
 * the lower dir (`layer`) whose entry it is. `unknown` where only a mount could tell (a symlink
 * on the way, which the container would follow).
 */
export type Lookup = { kind: 'missing' } | { kind: 'file' | 'dir'; hostPath: string; layer: string } | { kind: 'unknown' };

/**
 * Entries by lower dir and path. Lower dirs never change once they are layers (extracted, or an
 * upper dir moved into the store), so an answer holds as long as the dir exists; a RUN step then
 * looks only at the layer its parent step just made. Emptied when full: a long-lived daemon
 * meets ever new layers.
 */
const entries = new Map<string, Entry>();
const MAX_ENTRIES = 20_000;

function entry(layer: string, rel: string): Entry {
  const key = `${layer}\0${rel}`;
  let found = entries.get(key);
  if (found === undefined) {
    found = readEntry(join(layer, rel));
    if (entries.size >= MAX_ENTRIES) entries.clear();
    entries.set(key, found);
  }
  return found;
}

function readEntry(path: string): Entry {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'absent' : 'other';
  }
  if (st.isCharacterDevice() && st.rdev === 0) return 'whiteout';
  if (st.isDirectory()) return isOpaque(path) ? 'opaque-dir' : 'dir';
  if (st.isFile()) return 'file';
  return st.isSymbolicLink() ? 'symlink' : 'other';
}

function isOpaque(dir: string): boolean {
  const { listAttributesSync, getAttributeSync } = fsXattr();
  let names: string[];
  try {
    names = listAttributesSync(dir);
  } catch {
    return false;
  }
  return opaqueMarked(names, (name) => getAttributeSync(dir, name));
}

/**
 * Looks `path` up the way overlayfs would in a mount of `lowerDirs` (bottom-most first): the
 * top-most layer that has it wins; a whiteout, or a non-directory on the way, hides it and
 * everything below; an opaque directory on the way hides what the layers below have under it.
 */
export function lookupInLowers(lowerDirs: readonly string[], path: string): Lookup {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { kind: 'unknown' };
  if (parts.length === 0) return { kind: 'dir', hostPath: lowerDirs[lowerDirs.length - 1]!, layer: lowerDirs[lowerDirs.length - 1]! };
  for (let i = lowerDirs.length - 1; i >= 0; i--) {
    const layer = lowerDirs[i]!;
    let opaque = false;
    let reached = true;
    for (let depth = 1; depth < parts.length && reached; depth++) {
      switch (entry(layer, parts.slice(0, depth).join('/'))) {
        case 'absent':
          reached = false;
          break;
        case 'dir':
          break;
        case 'opaque-dir':
          opaque = true;
          break;
        case 'symlink':
          return { kind: 'unknown' };
        default:
          return { kind: 'missing' };
      }
    }
    if (reached) {
      const rel = parts.join('/');
      switch (entry(layer, rel)) {
        case 'absent':
          break;
        case 'whiteout':
          return { kind: 'missing' };
        case 'file':
          return { kind: 'file', hostPath: join(layer, rel), layer };
        case 'dir':
        case 'opaque-dir':
          return { kind: 'dir', hostPath: join(layer, rel), layer };
        default:
          return { kind: 'unknown' };
      }
    }
    if (opaque) return { kind: 'missing' };
  }
  return { kind: 'missing' };
}

/** A text file's content through the lower dirs: '' when it is missing, undefined when only a mount could tell. */
export function readInLowers(lowerDirs: readonly string[], path: string): string | undefined {
  const found = lookupInLowers(lowerDirs, path);
  if (found.kind === 'missing') return '';
  if (found.kind !== 'file') return undefined;
  return readFileSync(found.hostPath, 'utf8');
}
