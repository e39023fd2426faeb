import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

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
    const require = createRequire(import.meta.url);
    const addon = require(join(dirname(require.resolve('fs-xattr')), 'build', 'Release', 'xattr.node')) as Addon;
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
