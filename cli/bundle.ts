/**
 * Bundles the CLI (`npm run build` writes `dist/bundle/`, which bin/kiln.js runs). Resolving,
 * reading and compiling ~190 modules one by one cost a third of a no-op build's start-up; one
 * file loads in a fraction of that. The CLI is CommonJS, main.cjs, which start.cjs runs with V8's
 * code cache (code-cache.ts: Node 20 keeps no compiled code, and vm.Script, which takes a cache,
 * runs no ES module). undici (~1 MB, for registries only) is a file of its own, loaded on first use.
 *   node dist/cli/bundle.js [OUTDIR]
 */
import { build, transform, type BuildOptions, type Plugin } from 'esbuild';
import { isAscii } from 'node:buffer';
import { readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Packages that load their `.node` files relative to themselves stay external. better-sqlite3's
 * JavaScript is bundled (resolving and compiling its dozen files cost ~4 ms of every start) and
 * given its addon's path (cache/sqlite.ts), so the `bindings` package it would search with is
 * never loaded.
 */
const EXTERNAL = ['bindings', 'zstd-napi', 'fs-xattr'];

/**
 * grammar/chevrotain.ts imports chevrotain's single-file build by its path at run time, with a
 * top-level await (which CommonJS has none of); the bundle holds that file instead.
 */
function chevrotainInline(repo: string): Plugin {
  const entry = createRequire(join(repo, 'package.json')).resolve('chevrotain');
  const single = join(dirname(entry), '..', 'chevrotain.min.mjs');
  return {
    name: 'chevrotain-inline',
    setup(b) {
      b.onLoad({ filter: /[\\/]grammar[\\/]chevrotain\.ts$/ }, () => ({ contents: `export * from ${JSON.stringify(single)};`, loader: 'js' }));
    },
  };
}

/**
 * The modules find files beside them (package.json, blob-worker.js, main.cjs) from import.meta.url,
 * which CommonJS has none of. import.meta.kilnBundle tells code that the one file holds all of
 * kiln (solver/frontend/parse-memo.ts keys what it stores by that file).
 */
const MODULE_URL = {
  define: { 'import.meta.url': '__kilnModuleUrl', 'import.meta.kilnBundle': 'true' },
  banner: { js: "var __kilnModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
} satisfies BuildOptions;

/**
 * start.cjs reads a bundle file that is all ASCII as latin1, several times faster than as UTF-8,
 * and V8 then keeps its source at one byte a character: a main.cjs with a few non-ASCII characters
 * cost `kiln images` ~7 ms. esbuild escapes non-ASCII text in strings and names but leaves it in
 * comments and regular expressions. kiln's own code writes such characters as escapes (the bundle
 * test holds it to that); a dependency's file that has any is bundled without its comments, and
 * license comments go to `<file>.LEGAL.txt` beside each bundle file.
 */
const asciiDependencies: Plugin = {
  name: 'ascii-dependencies',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.[cm]?js$/ }, async (a) => {
      const bytes = await readFile(a.path);
      if (isAscii(bytes)) return undefined;
      const { code } = await transform(bytes.toString('utf8'), { minifyWhitespace: true, charset: 'ascii', loader: 'js', sourcefile: a.path });
      return { contents: code, loader: 'js' };
    });
  },
};

/** `undici` is the bundle's undici.cjs, required when first imported. */
const undiciApart: Plugin = {
  name: 'undici-apart',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: 'undici', namespace: 'undici-apart' }));
    b.onLoad({ filter: /.*/, namespace: 'undici-apart' }, () => ({ contents: "module.exports = require('./undici.cjs');", loader: 'js' }));
    b.onResolve({ filter: /^\.\/undici\.cjs$/ }, (a) => ({ path: a.path, external: true }));
  },
};

/**
 * Writes the bundle of the repository's CLI into `outdir` (replacing what is there): `start.cjs`
 * (the entry), `main.cjs`, `undici.cjs` and `blob-worker.js`, the registry's download thread,
 * which blob-pool.ts starts from beside the code that runs it. Built beside `outdir` and renamed
 * in, so a kiln starting meanwhile finds either no bundle (and runs tsc's output) or a whole one,
 * never old and new files mixed.
 */
export async function bundleCli(repo: string, outdir: string): Promise<void> {
  const fresh = `${outdir}.new-${process.pid}`;
  const old = `${outdir}.old-${process.pid}`;
  await rm(fresh, { recursive: true, force: true });
  const common: BuildOptions = { outdir: fresh, bundle: true, platform: 'node', target: 'node20', external: EXTERNAL, legalComments: 'external', logLevel: 'warning' };
  const cjs: BuildOptions = { ...common, format: 'cjs', outExtension: { '.js': '.cjs' } };
  await Promise.all([
    build({ ...cjs, ...MODULE_URL, entryPoints: { start: join(repo, 'cli', 'start.ts') } }),
    build({ ...cjs, ...MODULE_URL, entryPoints: { main: join(repo, 'cli', 'main.ts') }, plugins: [chevrotainInline(repo), undiciApart, asciiDependencies] }),
    build({ ...cjs, entryPoints: { undici: createRequire(join(repo, 'package.json')).resolve('undici') }, plugins: [asciiDependencies] }),
    build({
      ...common,
      format: 'esm',
      entryPoints: { 'blob-worker': join(repo, 'oci', 'registry', 'blob-worker.ts') },
      plugins: [chevrotainInline(repo), undiciApart, asciiDependencies],
      // Bundled CommonJS packages call require() for Node built-ins (and undici.cjs); ESM has no require of its own.
      banner: { js: "import { createRequire as __kilnCreateRequire } from 'node:module'; const require = __kilnCreateRequire(import.meta.url);" },
    }),
  ]);
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
