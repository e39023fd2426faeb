import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The compiled addon `file` (e.g. `build/Release/x.node`) of the installed package `pkg`, found
 * as Node's resolution finds the package: in the first `node_modules/PKG` with a package.json up
 * from kiln's own code. That is a few stats, where require.resolve reads the package's package.json and its
 * exports, 1-1.5 ms a package at every start. Only a package outside every such node_modules
 * (NODE_PATH) is resolved, through `entry`, a path the package lets be resolved. Undefined when
 * the package has no such file (not built).
 */
export function addonFile(pkg: string, file: string, entry: string, from: string = fileURLToPath(import.meta.url)): string | undefined {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    // Node takes the first node_modules/PKG with a package.json, and looks further up past others.
    const packageDir = join(dir, 'node_modules', pkg);
    if (existsSync(join(packageDir, 'package.json'))) return existing(join(packageDir, file));
    if (dirname(dir) === dir) break;
  }
  try {
    return existing(join(dirname(createRequire(from).resolve(entry)), file));
  } catch {
    return undefined;
  }
}

function existing(path: string): string | undefined {
  return existsSync(path) ? path : undefined;
}
