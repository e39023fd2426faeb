import { createRequire } from 'node:module';
import { addonFile } from './addon-file.js';
import { KilnError } from './errors.js';

/** The native addon inside fs-xattr 0.4, which its index.js only wraps with argument checks. */
interface Addon {
  getSync(path: string, name: string): Buffer;
  setSync(path: string, name: string, value: Buffer): void;
  listSync(path: string): string[];
  set(path: string, name: string, value: Buffer): Promise<void>;
}

export interface FsXattr {
  getAttributeSync(path: string, name: string): Buffer;
  setAttributeSync(path: string, name: string, value: Buffer | string): void;
  listAttributesSync(path: string): string[];
  setAttribute(path: string, name: string, value: Buffer | string): Promise<void>;
}

let loaded: FsXattr | undefined;

/**
 * fs-xattr's addon, loaded on first use and without the package's index.js: that is an ES module,
 * and requiring one starts Node's ES module loader, ~5 ms of a kiln start (and impossible before
 * Node 20.19), for four calls whose arguments kiln always passes as the addon wants them.
 */
export function fsXattr(): FsXattr {
  if (!loaded) {
    const file = addonFile('fs-xattr', 'build/Release/xattr.node', 'fs-xattr');
    if (file === undefined) {
      throw new KilnError('E_INSTALL', "kiln's fs-xattr package has no compiled addon (build/Release/xattr.node)", { hint: 'reinstall kiln\'s dependencies (npm ci), which builds it' });
    }
    const addon = createRequire(import.meta.url)(file) as Addon;
    const bytes = (value: Buffer | string): Buffer => (typeof value === 'string' ? Buffer.from(value) : value);
    loaded = {
      getAttributeSync: (path, name) => addon.getSync(path, name),
      setAttributeSync: (path, name, value) => addon.setSync(path, name, bytes(value)),
      listAttributesSync: (path) => addon.listSync(path),
      setAttribute: (path, name, value) => addon.set(path, name, bytes(value)),
    };
  }
  return loaded;
}

/** Where overlayfs marks a directory opaque. */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';
/** Where overlay mounted with `userxattr` (in a user namespace) marks it. */
export const USERNS_OPAQUE_XATTR = 'user.overlay.opaque';

/** Whether a directory with extended attributes `names` is opaque, reading a value with `read`. */
export function opaqueMarked(names: readonly string[], read: (name: string) => Buffer | undefined): boolean {
  return [OPAQUE_XATTR, USERNS_OPAQUE_XATTR].some((name) => names.includes(name) && read(name)?.toString() === 'y');
}

/** overlayfs keeps its own bookkeeping here (whiteouts, opaque dirs, redirects); never part of a layer or a copy. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

/** Errors meaning "this filesystem or file has no such attribute", which are not failures. */
export function xattrAbsent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENODATA' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOATTR';
}
