import { lstat, mkdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LayerError } from './errors.js';

/** Symlink hops allowed while resolving one path, as Linux's MAXSYMLINKS. */
const MAX_HOPS = 40;

export function unsafePath(name: string, why: string): LayerError {
  return new LayerError('E_LAYER_UNSAFE_PATH', `layer entry "${name}" refused: ${why}`, {
    hint: 'the layer tries to write outside the directory it is applied to; do not use this image',
  });
}

/**
 * Splits a tar entry name into clean components. `..` that stays inside is folded away (as
 * Docker does); anything that would climb above the root, or an absolute name, is refused.
 * Hard link targets pass `rooted` since their absolute names mean "from the layer root".
 */
export function entryComponents(name: string, rooted = false): string[] {
  if (name.includes('\0')) throw unsafePath(name, 'the name contains a NUL byte');
  if (name.startsWith('/') && !rooted) throw unsafePath(name, 'absolute paths are not allowed in a layer');
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length === 0) throw unsafePath(name, 'it climbs out of the target with ".."');
      parts.pop();
    } else {
      parts.push(c);
    }
  }
  return parts;
}

/**
 * The real path of the directory `components` names under `root`, never leaving `root`.
 *
 * A symlink the layer being applied wrote itself is followed only when its target is relative
 * and stays inside: a tar that plants a link and then writes through it is hostile. A symlink
 * that was already in the tree (from a lower layer, e.g. Debian's `var/run -> /run`) is
 * resolved as it would be inside the container, as containerd and docker do: an absolute
 * target starts again from `root`, and `..` at `root` stays at `root`.
 * Missing directories are created (0755) when `create` is set, else the result is undefined.
 * Returns the real path's components relative to `root`.
 */
export async function resolveDir(
  root: string,
  components: string[],
  entryName: string,
  create: boolean,
  /** Components of a directory already resolved by this function to start from. */
  from: string[] = [],
  /** Whether the path (relative to `root`) was written by the layer being applied. */
  writtenByLayer: (relPath: string) => boolean = () => true,
): Promise<string[] | undefined> {
  const resolved = [...from];
  const queue = [...components];
  let hops = 0;
  let inContainerView = false;
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (resolved.length > 0) resolved.pop();
      else if (!inContainerView) throw unsafePath(entryName, 'a symlink on its path leads out of the target');
      continue;
    }
    const path = join(root, ...resolved, c);
    let st;
    try {
      st = await lstat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(entryName, err);
      if (!create) return undefined;
      await mkdir(path, { mode: 0o755 }).catch((e: unknown) => {
        throw ioError(entryName, e);
      });
      resolved.push(c);
      continue;
    }
    if (st.isDirectory()) {
      resolved.push(c);
    } else if (st.isSymbolicLink()) {
      if (++hops > MAX_HOPS) throw unsafePath(entryName, 'too many levels of symlinks on its path');
      const target = await readlink(path);
      const own = writtenByLayer([...resolved, c].join('/'));
      if (own && target.startsWith('/')) throw unsafePath(entryName, `it would be written through the absolute symlink ${c} -> ${target}`);
      if (!own) inContainerView = true;
      if (target.startsWith('/')) resolved.length = 0;
      queue.unshift(...target.split('/'));
    } else {
      throw new LayerError('E_LAYER_CORRUPT', `layer entry "${entryName}" refused: "${c}" on its path is not a directory`, {
        hint: 'the layer is inconsistent with the layers below it',
      });
    }
  }
  return resolved;
}

export function ioError(entryName: string, err: unknown): LayerError {
  if (err instanceof LayerError) return err;
  return new LayerError('E_LAYER_IO', `cannot extract layer entry "${entryName}": ${(err as Error).message}`, { cause: err });
}
