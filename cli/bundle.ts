/**
 * Bundles the CLI into a few ESM files (`npm run build` writes `dist/bundle/`, which bin/kiln.js
 * runs). Resolving, reading and compiling ~190 modules one by one cost a third of a no-op build's
 * start-up; one entry file plus the chunks split off at `await import()` loads in a fraction of
 * that, and code a command never reaches (registry client, layer compression) stays unloaded.
 *   node dist/cli/bundle.js [OUTDIR]
 */
import { build } from 'esbuild';
import { rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Native addons load their `.node` files relative to their own package, so they stay external. */
const NATIVE = ['better-sqlite3', 'zstd-napi', 'fs-xattr'];

/**
 * Writes the bundle of the repository's `cli/main.ts` into `outdir` (replacing what is there); its
 * entry is `main.js`. Built beside `outdir` and renamed in, so a kiln starting meanwhile finds
 * either no bundle (and runs tsc's output) or a whole one, never old and new chunks mixed.
 */
export async function bundleCli(repo: string, outdir: string): Promise<void> {
  const fresh = `${outdir}.new-${process.pid}`;
  const old = `${outdir}.old-${process.pid}`;
  await rm(fresh, { recursive: true, force: true });
  await build({
    // The registry's blob download thread loads its script from beside the chunk that starts it.
    entryPoints: { main: join(repo, 'cli', 'main.ts'), 'chunks/blob-worker': join(repo, 'oci', 'registry', 'blob-worker.ts') },
    outdir: fresh,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: NATIVE,
    chunkNames: 'chunks/[name]-[hash]',
    // Bundled CommonJS packages call require() for Node built-ins; ESM has no require of its own.
    banner: { js: "import { createRequire as __kilnCreateRequire } from 'node:module'; const require = __kilnCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  await rename(outdir, old).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await rename(fresh, outdir);
  await rm(old, { recursive: true, force: true });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  // From source (cli/) the repository is one level up; from dist/cli/ two.
  const here = dirname(fileURLToPath(import.meta.url));
  const repo = here.endsWith(join('dist', 'cli')) ? join(here, '..', '..') : join(here, '..');
  await bundleCli(repo, resolve(process.argv[2] ?? join(repo, 'dist', 'bundle')));
}
