import { getAttribute, getAttributeSync, listAttributesSync, setAttribute } from 'fs-xattr';
import { LayerError } from './errors.js';

/** overlayfs keeps its own bookkeeping here (whiteouts, opaque dirs, redirects); never part of a layer. */
const OVERLAY_PREFIXES = ['trusted.overlay.', 'user.overlay.'];
export const OPAQUE_XATTR = 'trusted.overlay.opaque';
/** Where overlay mounted with `userxattr` (in a user namespace) keeps it. */
export const USERNS_OPAQUE_XATTR = 'user.overlay.opaque';

const isOverlayAttr = (name: string): boolean => OVERLAY_PREFIXES.some((p) => name.startsWith(p));

/** Errors meaning "this filesystem or file has no such attribute", which are not failures. */
function isAbsent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENODATA' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOATTR';
}

/**
 * The extended attributes a layer should carry for `path`, overlay's own excluded, sorted by
 * name. fs-xattr follows symlinks, so callers must not pass symlinks. Synchronous: two
 * syscalls per file are far cheaper than two trips through the thread pool when packing
 * thousands of small files.
 */
export function readXattrsSync(path: string): Map<string, Buffer> {
  let names: string[];
  try {
    names = listAttributesSync(path);
  } catch (err) {
    if (isAbsent(err)) return new Map();
    throw new LayerError('E_LAYER_IO', `cannot list extended attributes of ${path}: ${(err as Error).message}`, { cause: err });
  }
  const out = new Map<string, Buffer>();
  for (const name of names.filter((n) => !isOverlayAttr(n)).sort()) {
    try {
      out.set(name, getAttributeSync(path, name));
    } catch (err) {
      if (!isAbsent(err)) throw new LayerError('E_LAYER_IO', `cannot read extended attribute ${name} of ${path}`, { cause: err });
    }
  }
  return out;
}

/** Whether overlayfs marked `path` opaque (`trusted.*` normally, `user.*` on rootless `userxattr` mounts). */
export async function isOpaqueDir(path: string): Promise<boolean> {
  for (const name of [OPAQUE_XATTR, USERNS_OPAQUE_XATTR]) {
    try {
      if ((await getAttribute(path, name)).toString() === 'y') return true;
    } catch (err) {
      if (!isAbsent(err) && (err as NodeJS.ErrnoException).code !== 'EPERM') {
        throw new LayerError('E_LAYER_IO', `cannot read ${name} of ${path}`, { cause: err });
      }
    }
  }
  return false;
}

/** Sets attributes on a path the caller created (never a symlink: fs-xattr follows them). */
export async function writeXattrs(path: string, xattrs: Map<string, Buffer>): Promise<void> {
  for (const [name, value] of xattrs) {
    try {
      await setAttribute(path, name, value);
    } catch (err) {
      throw new LayerError('E_LAYER_IO', `cannot set extended attribute ${name} on ${path}: ${(err as Error).message}`, {
        cause: err,
        hint: 'extract onto a filesystem with xattr support (trusted.* and security.* need root)',
      });
    }
  }
}
