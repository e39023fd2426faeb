import { createRequire } from 'node:module';

type FsXattr = typeof import('fs-xattr');

let loaded: FsXattr | undefined;

/**
 * fs-xattr, loaded on first use. It is an ES module around a native addon: requiring it starts
 * Node's ES module loader, ~5 ms of every kiln start, while most commands (a no-op build, say)
 * never touch an extended attribute.
 */
export function fsXattr(): FsXattr {
  loaded ??= createRequire(import.meta.url)('fs-xattr') as FsXattr;
  return loaded;
}
