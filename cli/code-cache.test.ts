import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import vm from 'node:vm';
import { cliMain, repo } from '../test/build-helpers.js';
import { GLOBAL_VALUE_OPTIONS, cachePath, codeCacheFor, commandLabel, loadCommonJs, type CodeCache } from './code-cache.js';

const run = promisify(execFile);

interface Fixture {
  file: string;
  cache: CodeCache;
  /** Where the fixture's cache file goes. */
  path: string;
}

/**
 * A CommonJS file of its own per test (V8 also keeps compiled scripts in memory, by source, which
 * would hide whether the file's cache was taken), requiring a sibling .cjs and a built-in.
 */
async function fixture(t: ExecutionContext): Promise<Fixture> {
  const home = await mkdtemp(join(tmpdir(), 'kiln-code-cache-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const dir = join(home, 'bundle');
  await mkdir(dir);
  const file = join(dir, 'main.cjs');
  await writeFile(
    file,
    `// ${t.title}\nconst { basename } = require('node:path');\nconst sibling = require('./sibling.cjs');\n` +
      `function square(x) { return x * x; }\nexports.answer = () => [1, 2, 3].map(square).reduce((a, b) => a + b, 0) * 3 + sibling.one;\n` +
      `exports.where = () => basename(__dirname);\n`,
  );
  await writeFile(join(dir, 'sibling.cjs'), `// ${t.title}\nexports.one = 0;\n`);
  const cache = { dir: join(home, '.cache', 'kiln', 'code'), within: home, label: 'test' };
  return { file, cache, path: cachePath(cache, file, await readFile(file)) };
}

function answers(t: ExecutionContext, exports: unknown): void {
  const m = exports as { answer(): number; where(): string };
  t.is(m.answer(), 42);
  t.is(m.where(), 'bundle');
}

test('a module without a cache runs and saves one, which the next load takes', async (t) => {
  const f = await fixture(t);
  const first = loadCommonJs(f.file, f.cache);
  t.is(first.outcome, 'miss');
  answers(t, first.exports);
  first.save();
  t.deepEqual(await readdir(f.cache.dir), [f.path.split('/').pop()]);
  t.is((await lstat(f.cache.dir)).mode & 0o777, 0o700);
  t.is((await lstat(f.path)).mode & 0o777, 0o600);
  // The next runs save it again (with what they compiled) until 4 runs (MATURE_RUNS) made it.
  for (let run = 2; run <= 5; run++) {
    const again = loadCommonJs(f.file, f.cache);
    t.is(again.outcome, 'hit');
    t.is(again.saves, run <= 4);
    answers(t, again.exports);
    const before = await lstat(f.path);
    again.save();
    t.is((await lstat(f.path)).ino === before.ino, run > 4, `run ${run}: saved again while fewer than 4 runs made the cache`);
  }
});

test('a later run saves the code it compiled beside what the cache held', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'kiln-code-cache-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const file = join(home, 'main.cjs');
  const fn = (name: string) => `exports.${name} = (x) => {\n  let acc = x;\n${Array.from({ length: 200 }, (_, i) => `  acc = (acc * 31 + ${i}) % 1000003;`).join('\n')}\n  return acc;\n};\n`;
  await writeFile(file, fn('a') + fn('b'));
  const cache = { dir: join(home, 'cache'), within: home, label: 'test' };
  // Each load in a process of its own: V8 keeps compiled scripts in memory by source.
  const child = join(home, 'child.mjs');
  await writeFile(child, `import { loadCommonJs } from ${JSON.stringify(join(repo, 'cli', 'code-cache.ts'))};\nconst m = loadCommonJs(process.argv[2], JSON.parse(process.argv[3]));\nm.exports[process.argv[4]](1);\nm.save();\n`);
  const runWith = (name: string) => run(process.execPath, ['--import', 'tsx', child, file, JSON.stringify(cache), name], { cwd: repo });
  const size = async () => {
    const [name, ...more] = await readdir(cache.dir);
    t.is(more.length, 0);
    return (await lstat(join(cache.dir, name!))).size;
  };
  await runWith('a');
  const first = await size();
  await runWith('b');
  const second = await size();
  t.true(second > first, `the cache after a run of b is ${second} bytes, after a run of a only ${first}`);
});

test('no cache wanted: the module runs and nothing is written', async (t) => {
  const f = await fixture(t);
  const loaded = loadCommonJs(f.file, undefined);
  t.is(loaded.outcome, 'off');
  answers(t, loaded.exports);
  loaded.save();
  await t.throwsAsync(lstat(join(f.cache.within, '.cache')));
});

test('a corrupt or truncated cache is not given to V8 (which would crash) and is replaced', async (t) => {
  const f = await fixture(t);
  const loaded = loadCommonJs(f.file, f.cache);
  loaded.save();
  const good = await readFile(f.path);
  const flipped = Buffer.from(good);
  flipped[flipped.length >> 1] ^= 0xff;
  for (const bad of [flipped, good.subarray(0, good.length >> 1), Buffer.from('garbage'), Buffer.alloc(0)]) {
    await writeFile(f.path, bad);
    const again = loadCommonJs(f.file, f.cache);
    t.is(again.outcome, 'miss');
    answers(t, again.exports);
  }
  loadCommonJs(f.file, f.cache).save();
  t.true((await readFile(f.path)).subarray(0, 20).equals(good.subarray(0, 20)), 'rewritten whole');
});

test('data V8 rejects (made for other code) is reported, ignored and replaced', async (t) => {
  const f = await fixture(t);
  const other = new vm.Script('1 + 1');
  other.runInThisContext();
  const data = other.createCachedData();
  const { createHash } = await import('node:crypto');
  await mkdir(f.cache.dir, { recursive: true });
  await writeFile(f.path, Buffer.concat([Buffer.from('kiln-v8-code-cache-2\n'), Buffer.from([1]), createHash('sha256').update(data).digest(), data]), { mode: 0o600 });
  const loaded = loadCommonJs(f.file, f.cache);
  t.is(loaded.outcome, 'rejected');
  answers(t, loaded.exports);
  const before = await lstat(f.path);
  loaded.save();
  t.not((await lstat(f.path)).ino, before.ino);
});

test('a cache file of another user, writable by others, or not a regular file is not read', async (t) => {
  const f = await fixture(t);
  loadCommonJs(f.file, f.cache).save();
  await chmod(f.path, 0o666);
  t.is(loadCommonJs(f.file, f.cache).outcome, 'miss');
  await chmod(f.path, 0o600);
  await chown(f.path, 65534, 65534);
  t.is(loadCommonJs(f.file, f.cache).outcome, 'miss');
  await rm(f.path);
  // A FIFO would block a plain open until someone writes to it.
  await run('mkfifo', [f.path]);
  t.is(loadCommonJs(f.file, f.cache).outcome, 'miss');
});

test('where no cache can be written, saving is silently skipped and makes no home directory', async (t) => {
  const f = await fixture(t);
  const missingHome = join(f.cache.within, 'no-such-home');
  const aFile = join(f.cache.within, 'a-file');
  await writeFile(aFile, '');
  // In /proc, mkdir says ENOENT under a directory that exists: Node's recursive mkdirSync loops there.
  const caches = [missingHome, aFile].map((home) => ({ dir: join(home, '.cache', 'kiln', 'code'), within: home, label: 'test' }));
  caches.push({ dir: '/proc/no-such-dir/kiln/code', within: '/proc', label: 'test' });
  for (const cache of caches) {
    const loaded = loadCommonJs(f.file, cache);
    t.is(loaded.outcome, 'miss');
    t.notThrows(() => loaded.save());
  }
  await t.throwsAsync(lstat(missingHome));
});

test('saving keeps the 32 newest files of other bundles and drops temp files of killed runs', async (t) => {
  const f = await fixture(t);
  await mkdir(f.cache.dir, { recursive: true });
  const day = 24 * 3600;
  const now = Date.now() / 1000;
  for (let i = 0; i < 40; i++) {
    const p = join(f.cache.dir, `build.main.${String(i).padStart(24, '0')}.v8`);
    await writeFile(p, '');
    await utimes(p, now - i * day, now - i * day);
  }
  const stale = join(f.cache.dir, 'x.main.0.v8.1-ab.tmp');
  const fresh = join(f.cache.dir, 'x.main.0.v8.2-cd.tmp');
  await writeFile(stale, '');
  await utimes(stale, now - day, now - day);
  await writeFile(fresh, '');
  loadCommonJs(f.file, f.cache).save();
  const names = await readdir(f.cache.dir);
  t.true(names.includes(f.path.split('/').pop()!));
  const kept = names.filter((n) => n.startsWith('build.main.'));
  t.is(kept.length, 32);
  t.deepEqual(kept.sort(), Array.from({ length: 32 }, (_, i) => `build.main.${String(i).padStart(24, '0')}.v8`).sort());
  t.false(names.includes('x.main.0.v8.1-ab.tmp'));
  t.true(names.includes('x.main.0.v8.2-cd.tmp'));
});

test('the cache is per command, in $XDG_CACHE_HOME or ~/.cache', (t) => {
  t.is(commandLabel([]), 'none');
  t.is(commandLabel(['--version']), 'none');
  t.is(commandLabel(['build', '-t', 'x', '.']), 'build');
  t.is(commandLabel(['--root', 'build', '--debug', '-H', 'run', 'images']), 'images');
  t.is(commandLabel(['--root=/x', 'push', 'a']), 'push');
  t.is(commandLabel(['../odd/arg']), 'other');
  t.deepEqual(codeCacheFor(['ps'], { XDG_CACHE_HOME: '/x/cache' }), { dir: '/x/cache/kiln/code', within: '/x', label: 'ps' });
  // A client of a daemon runs other code than the command run here.
  t.is(codeCacheFor(['-H', 'unix:///s', 'ps'], { XDG_CACHE_HOME: '/x' })?.label, 'ps-host');
  t.is(codeCacheFor(['--host=tcp://h:1', 'ps'], { XDG_CACHE_HOME: '/x' })?.label, 'ps-host');
  t.is(codeCacheFor(['ps'], { XDG_CACHE_HOME: '/x', KILN_HOST: 'unix:///s' })?.label, 'ps-host');
  t.is(codeCacheFor(['--debug', '-Hunix:///s', 'ps'], { XDG_CACHE_HOME: '/x' })?.label, 'ps-host');
  // A relative XDG_CACHE_HOME is to be ignored (XDG Base Directory spec).
  t.is(codeCacheFor(['ps'], { XDG_CACHE_HOME: 'rel' })?.dir, join(process.env.HOME ?? '', '.cache', 'kiln', 'code'));
});

test('only a global option before the command makes it a client of a daemon: a -H after it is the command\'s', (t) => {
  const label = (args: string[]) => codeCacheFor(args, { XDG_CACHE_HOME: '/x' })?.label;
  t.is(label(['history', '-H', 'false', 'app']), 'history');
  t.is(label(['serve', '-H', 'unix:///run/kiln.sock']), 'serve');
  t.is(label(['--root', '-Hx', 'ps']), 'ps', 'the value of --root');
});

test("the options the command label skips with their value are the CLI's global ones that take a value", async (t) => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', cliMain, '--help'], { cwd: repo });
  const options = stdout.slice(stdout.indexOf('Options:'), stdout.indexOf('Commands:'));
  const withValue = [...options.matchAll(/^ {2}((?:-\w, )?--[\w-]+) <[^>]+>/gm)].flatMap((m) => m[1]!.split(', '));
  t.deepEqual([...withValue].sort(), [...GLOBAL_VALUE_OPTIONS].sort());
});

test('code that ran early in a long run is in the cache that run saves', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'kiln-code-cache-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const file = join(home, 'main.cjs');
  // A function only the start of the run calls, big enough to weigh in the cache's size.
  const body = Array.from({ length: 400 }, (_, i) => `  acc = (acc * 31 + ${i}) % 1000003; if (acc === ${i}) acc += arr.length;`).join('\n');
  await writeFile(file, `exports.early = (arr) => {\n  let acc = 1;\n${body}\n  return acc;\n};\n`);
  const child = join(home, 'child.mjs');
  await writeFile(
    child,
    `import { runCommonJs } from ${JSON.stringify(join(repo, 'cli', 'code-cache.ts'))};\n` +
      `const [file, dir, rounds] = process.argv.slice(2);\n` +
      `runCommonJs(file, { dir, within: ${JSON.stringify(home)}, label: 'test' }).exports.early([1]);\n` +
      // Garbage that lives a while, as a long build makes: major GCs, after a few of which V8
      // drops bytecode that has not run (forced GCs, gc(), age none).
      `const window = [];\n` +
      `for (let i = 0; i < Number(rounds); i++) { window.push(Array.from({ length: 20000 }, (_, k) => ({ k }))); if (window.length > 20) window.shift(); }\n`,
  );
  const sizeAfter = async (rounds: number): Promise<number> => {
    const dir = join(home, `cache-${rounds}`);
    await run(process.execPath, ['--import', 'tsx', '--max-semi-space-size=1', child, file, dir, String(rounds)], { cwd: repo });
    const [name] = await readdir(dir);
    return (await lstat(join(dir, name!))).size;
  };
  const short = await sizeAfter(0);
  const long = await sizeAfter(800);
  t.true(long >= short, `a run with many major GCs saved ${long} bytes, one with none ${short}`);
});
