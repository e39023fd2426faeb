/**
 * Runs kiln's CommonJS bundle with V8's code cache, kept between runs. Node 20 caches no compiled
 * code, so every kiln start parsed and compiled the functions it ran (a third of `kiln images`'
 * CPU); with the code V8 made for the last run of the same command, it deserializes instead.
 *
 * A cache file holds V8's data for one bundle file (content, Node version, flags) and one command,
 * as the functions a command runs differ; it is made at the exit of a successful run that found
 * none. Whatever goes wrong with a cache (missing, unreadable, not ours, corrupt, rejected by V8,
 * unwritable directory) only means compiling as without one: V8 does not check the data's
 * integrity (a flipped byte crashes it), so each file carries a digest of its data, checked first.
 */
import { isAscii } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import vm from 'node:vm';
import { v8 } from '../common/builtins.js';

/** How a bundle file found its cache: none wanted, none usable, or V8 refusing it (other flags). */
export type CacheOutcome = 'off' | 'hit' | 'miss' | 'rejected';

export interface CodeCache {
  /** Where the cache files are: made when missing, but only inside `within`. */
  dir: string;
  /** The directory `dir` may be made in (the user's home, or $XDG_CACHE_HOME's parent), never made itself. */
  within: string;
  /** The command being run, a file name part: the functions a command runs differ. */
  label: string;
}

export interface LoadedModule {
  exports: unknown;
  outcome: CacheOutcome;
  /** Whether save() would write: no cache yet, or one that fewer than MATURE_RUNS runs made. */
  saves: boolean;
  /** Writes V8's code for the functions run so far (with those the cache brought), if `saves`. */
  save(): void;
}

const MAGIC = Buffer.from('kiln-v8-code-cache-2\n');
const NO_FLUSH = '--no-flush-bytecode';
/**
 * Runs whose code a cache file gathers: the first good run of a command makes it, and the next
 * ones save it again with what they compiled besides (a first build that copied files but ran no
 * RUN left every later RUN to be compiled, each time). Then it is left alone: saving costs ~15 ms.
 */
const MATURE_RUNS = 4;
const DIGEST_BYTES = 32;
/** Files of other bundles (older kilns, other checkouts) kept beside the current one's. */
const MAX_FILES = 32;
const STALE_TEMP_MS = 60 * 60 * 1000;

/**
 * The code cache for the kiln command line `args` (the arguments after the script), in
 * `$XDG_CACHE_HOME/kiln/code`, else `~/.cache/kiln/code`; undefined without a home directory.
 */
export function codeCacheFor(args: readonly string[], env: NodeJS.ProcessEnv = process.env): CodeCache | undefined {
  // These run other code than the same command does here and now, so each has a cache of its
  // own: the command as a client of a daemon, and a user's kiln, which runs itself again as root
  // of a user namespace (runtime/reexec.ts). Only a global option says --host: after the command,
  // -H is another option (`kiln history -H`, `kiln serve -H ADDR`).
  const { options } = splitCommandLine(args);
  const viaHost = Boolean(env.KILN_HOST) || options.some((o) => o === '--host' || o.startsWith('--host=') || o.startsWith('-H'));
  const label = `${commandLabel(args)}${viaHost ? '-host' : ''}${process.geteuid?.() === 0 ? '' : '-user'}`;
  const xdg = env.XDG_CACHE_HOME;
  if (xdg?.startsWith('/')) return { dir: join(xdg, 'kiln', 'code'), within: dirname(xdg), label };
  try {
    const home = homedir();
    return home.startsWith('/') ? { dir: join(home, '.cache', 'kiln', 'code'), within: home, label } : undefined;
  } catch {
    return undefined;
  }
}

/** kiln's global options that take a value (cli/main.ts; the test compares with `kiln --help`). */
export const GLOBAL_VALUE_OPTIONS = ['--root', '-H', '--host', '--tlscacert', '--tlscert', '--tlskey'];

/**
 * A kiln command line read without the CLI's parser (a wrong guess only costs cache hits): the
 * global options before the command, less the values given apart from them, and the command.
 */
function splitCommandLine(args: readonly string[]): { options: string[]; command: string | undefined } {
  const options: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-')) return { options, command: a };
    options.push(a);
    if (GLOBAL_VALUE_OPTIONS.includes(a)) i++;
  }
  return { options, command: undefined };
}

/** The command of a kiln command line, as a file name part. */
export function commandLabel(args: readonly string[]): string {
  const { command } = splitCommandLine(args);
  if (command === undefined) return 'none';
  return /^[a-z][a-z0-9-]{0,31}$/.test(command) ? command : 'other';
}

/** Loads `file` (CommonJS), keeping its code cache in `cache`, and saves a missing cache when the process exits with 0. */
export function runCommonJs(file: string, cache: CodeCache | undefined): LoadedModule {
  // V8 drops the bytecode of functions that have not run for a few major GCs, and the cache is
  // made from what is compiled at exit: a long build saved one without the start-up, parsing and
  // context code that ran first, and every later run of the command (a no-op rebuild: ~60 ms more)
  // compiled those again. Set before the first compile, so the data V8 checks always agree.
  // bin/kiln.js gives it on node's command line: loading node:v8 to set it costs a start ~2 ms.
  if (cache !== undefined && !process.execArgv.includes(NO_FLUSH)) v8().setFlagsFromString(NO_FLUSH);
  const loaded = loadCommonJs(file, cache);
  if (loaded.saves) {
    process.once('exit', (code) => {
      // A failed run may have stopped early and compiled little: the next good one makes the cache.
      if (code === 0) loaded.save();
    });
  }
  return loaded;
}

/**
 * Compiles and runs `file` as Node's CommonJS loader would, with V8's cached data for it when
 * `cache` holds valid data. Its `require` loads the bundle's other `.cjs` files (undici.cjs) the
 * same way, through runCommonJs.
 */
export function loadCommonJs(file: string, cache: CodeCache | undefined): LoadedModule {
  const bytes = readFileSync(file);
  // latin1 decodes several times faster than utf8; esbuild escapes non-ASCII text in strings,
  // though comments and regular expressions may keep some.
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const path = cache === undefined ? undefined : cachePath(cache, file, bytes);
  const found = path === undefined ? undefined : readCache(path);
  const cachedData = found?.data;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const outcome: CacheOutcome = path === undefined ? 'off' : cachedData === undefined ? 'miss' : script.cachedDataRejected ? 'rejected' : 'hit';
  const runs = outcome === 'hit' ? found!.runs + 1 : 1;
  const saves = path !== undefined && runs <= MATURE_RUNS;
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: typeof module, f: string, d: string) => void;
  wrapper.call(module.exports, module.exports, requireFor(file, cache), module, file, dirname(file));
  return {
    exports: module.exports,
    outcome,
    saves,
    save: () => {
      if (cache !== undefined && path !== undefined && saves) writeCache(path, cache.within, runs, () => script.createCachedData());
    },
  };
}

const siblings = new Map<string, unknown>();

function requireFor(file: string, cache: CodeCache | undefined): NodeJS.Require {
  const plain = createRequire(file);
  const load = (id: string): unknown => {
    if (!/^\.\/[\w-]+\.cjs$/.test(id)) return plain(id);
    const path = join(dirname(file), id);
    if (!siblings.has(path)) siblings.set(path, runCommonJs(path, cache).exports);
    return siblings.get(path);
  };
  return Object.assign(load, plain);
}

/** The file in `cache` for V8's code of `file`, whose content is `bytes`. */
export function cachePath(cache: CodeCache, file: string, bytes: Buffer): string {
  return join(cache.dir, `${cache.label}.${basename(file).replace(/\.cjs$/, '')}.${cacheKey(bytes)}.v8`);
}

/** Names the file's content and what V8's data depends on besides: Node's version, platform and flags. */
function cacheKey(bytes: Buffer): string {
  return createHash('sha256')
    .update(bytes)
    .update(JSON.stringify([process.version, process.arch, process.execArgv, process.env.NODE_OPTIONS ?? '']))
    .digest('hex')
    .slice(0, 24);
}

function digest(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * The cached data in `path`, and how many runs made it, when it is a regular file of ours, not
 * writable by others, and intact. Layout: MAGIC, the runs (one byte), the data's sha256, the data.
 */
function readCache(path: string): { data: Buffer; runs: number } | undefined {
  let fd: number | undefined;
  try {
    // Non-blocking, so a FIFO put in the cache's place cannot hang kiln.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.geteuid?.() || (st.mode & 0o022) !== 0) return undefined;
    const file = readFileSync(fd);
    const head = MAGIC.length + 1 + DIGEST_BYTES;
    if (file.length <= head || !file.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    const data = file.subarray(head);
    return digest(data).equals(file.subarray(MAGIC.length + 1, head)) ? { data, runs: file[MAGIC.length]! } : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes beside and renames in, so a concurrent kiln reads the old file or the new one, whole. */
function writeCache(path: string, within: string, runs: number, data: () => Buffer): void {
  const dir = dirname(path);
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    makeDirs(dir, within);
    const bytes = data();
    // `wx` creates a new file and follows no link put in its place.
    writeFileSync(temp, Buffer.concat([MAGIC, Buffer.from([runs]), digest(bytes), bytes]), { flag: 'wx', mode: 0o600 });
    renameSync(temp, path);
    prune(dir, basename(path).split('.')[2]!);
  } catch {
    // No cache then: the next run compiles as this one did.
    try {
      rmSync(temp, { force: true });
    } catch {
      // Nothing was written where nothing can be removed.
    }
  }
}

/**
 * Makes `dir` and its missing parents inside `within` (never `within` itself: a root kiln with a
 * HOME that does not exist must not make it), private to their owner. Not mkdirSync's recursive
 * form: Node 20's loops forever where mkdir fails with ENOENT under a parent that exists (/proc).
 */
function makeDirs(dir: string, within: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(dir) === within || dirname(dir) === dir) throw e;
    makeDirs(dirname(dir), within);
    mkdirSync(dir, { mode: 0o700 });
  }
}

/** Keeps the current bundle's files and the newest others, up to MAX_FILES; drops temp files left by killed runs. */
function prune(dir: string, key: string): void {
  const others: { path: string; mtime: number }[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st === undefined) continue;
    if (name.endsWith('.tmp')) {
      if (Date.now() - st.mtimeMs > STALE_TEMP_MS) rmSync(path, { force: true });
    } else if (name.endsWith('.v8') && name.split('.')[2] !== key) {
      others.push({ path, mtime: st.mtimeMs });
    }
  }
  others.sort((a, b) => b.mtime - a.mtime);
  for (const { path } of others.slice(MAX_FILES)) rmSync(path, { force: true });
}
