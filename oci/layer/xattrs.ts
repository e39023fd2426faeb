import { fsXattr, isOverlayXattr, opaqueMarked, xattrAbsent } from '../../common/fs-xattr.js';
import { LayerError } from './errors.js';

export interface FileXattrs {
  /** What a layer should carry, overlay's own excluded, sorted by name. */
  carried: Map<string, Buffer>;
  /** Whether overlayfs marked the directory opaque (`trusted.*` normally, `user.*` on rootless `userxattr` mounts). */
  opaque: boolean;
}

/**
 * The extended attributes of `path`. fs-xattr follows symlinks, so callers must not pass symlinks.
 * Synchronous, and opacity from the same listing: a syscall or two per file are far cheaper than
 * trips through the thread pool when packing thousands of small files.
 */
export function readXattrsSync(path: string): FileXattrs {
  const { getAttributeSync, listAttributesSync } = fsXattr();
  let names: string[];
  try {
    names = listAttributesSync(path);
  } catch (err) {
    if (xattrAbsent(err)) return { carried: new Map(), opaque: false };
    throw new LayerError('E_LAYER_IO', `cannot list extended attributes of ${path}: ${(err as Error).message}`, { cause: err });
  }
  const read = (name: string): Buffer | undefined => {
    try {
      return getAttributeSync(path, name);
    } catch (err) {
      if (xattrAbsent(err)) return undefined;
      throw new LayerError('E_LAYER_IO', `cannot read extended attribute ${name} of ${path}`, { cause: err });
    }
  };
  const carried = new Map<string, Buffer>();
  for (const name of names.filter((n) => !isOverlayXattr(n)).sort()) {
    const value = read(name);
    if (value !== undefined) carried.set(name, value);
  }
  return { carried, opaque: opaqueMarked(names, read) };
}

/** Sets attributes on a path the caller created (never a symlink: fs-xattr follows them). */
export async function writeXattrs(path: string, xattrs: Map<string, Buffer>): Promise<void> {
  for (const [name, value] of xattrs) {
    try {
      await fsXattr().setAttribute(path, name, value);
    } catch (err) {
      throw new LayerError('E_LAYER_IO', `cannot set extended attribute ${name} on ${path}: ${(err as Error).message}`, {
        cause: err,
        hint: 'extract onto a filesystem with xattr support (trusted.* and security.* need root)',
      });
    }
  }
}
