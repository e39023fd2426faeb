import test from 'ava';
import { isAscii } from 'node:buffer';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freshRoot, repo } from '../test/build-helpers.js';
import { bundleCli } from './bundle.js';

const run = promisify(execFile);

test('the bundled CLI builds with COPY, ADD of a URL and RUN (runc, layers, native addons, undici) and runs the image', async (t) => {
  // Two levels below the repository (.kiln-test/ is git-ignored), as dist/bundle/ is, so the bundle finds node_modules and package.json.
  const out = join(repo, '.kiln-test', `bundle-${process.pid}`);
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-bundle-ctx-'));
  const cacheHome = await mkdtemp(join(tmpdir(), 'kiln-bundle-cache-'));
  const env = { ...process.env, XDG_CACHE_HOME: cacheHome, CI: 'true' };
  const codeDir = join(cacheHome, 'kiln', 'code');
  const { root, cleanup } = await freshRoot();
  const server = createServer((_req, res) => res.end('from a url\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/u.txt`;
  try {
    await bundleCli(repo, out);
    await bundleCli(repo, out);
    const beside = (await readdir(join(repo, '.kiln-test'))).filter((n) => n.startsWith(`bundle-${process.pid}`));
    t.deepEqual(beside, [`bundle-${process.pid}`], 'a rebuild leaves no old or half-written bundle beside it');
    for (const name of (await readdir(out)).filter((n) => /\.c?js$/.test(n))) {
      t.true(isAscii(await readFile(join(out, name))), `${name} is all ASCII, so start.cjs reads it as latin1 (kiln's code writes non-ASCII characters in regular expressions and class-body comments as escapes)`);
    }
    await writeFile(join(ctx, 'Dockerfile'), `FROM busybox\nCOPY a.txt /\nADD ${url} /u.txt\nRUN tr a-z A-Z < /a.txt > /b.txt\n`);
    await writeFile(join(ctx, 'a.txt'), 'bundled\n');
    const start = join(out, 'start.cjs');
    const version = await run(process.execPath, [start, '--version'], { env });
    t.regex(version.stdout, /^\d+\.\d+\.\d+/);
    await run(process.execPath, [start, '--root', root, 'build', '-q', '-t', 'bundled:1', ctx], { env });
    const out2 = await run(process.execPath, [start, '--root', root, 'run', '--rm', 'bundled:1', 'cat', '/b.txt', '/u.txt'], { env });
    t.is(out2.stdout, 'BUNDLED\nfrom a url\n');
    const caches = (await readdir(codeDir)).map((n) => n.split('.').slice(0, 2).join('.')).sort();
    t.deepEqual(caches, ['build.main', 'build.undici', 'none.main', 'run.main'], 'the code each command ran, undici.cjs for the one that reached a URL');
  } finally {
    server.close();
    await rm(out, { recursive: true, force: true });
    await rm(ctx, { recursive: true, force: true });
    await rm(cacheHome, { recursive: true, force: true });
    await cleanup();
  }
});

/** A cache file as code-cache.ts writes it: its magic line, how many runs made it, then the sha256 of the V8 data that follows. */
function whole(file: Buffer): boolean {
  return file.subarray(0, 21).toString() === 'kiln-v8-code-cache-2\n' && file.length > 54 && createHash('sha256').update(file.subarray(54)).digest().equals(file.subarray(22, 54));
}

test('bin/kiln.js runs the bundle with its code cache: taken when valid, replaced when corrupt, made once by concurrent runs', async (t) => {
  const cacheHome = await mkdtemp(join(tmpdir(), 'kiln-code-cache-'));
  t.teardown(() => rm(cacheHome, { recursive: true, force: true }));
  const env = { ...process.env, XDG_CACHE_HOME: cacheHome };
  const codeDir = join(cacheHome, 'kiln', 'code');
  const kiln = (...args: string[]) => run(process.execPath, [join(repo, 'bin', 'kiln.js'), ...args], { env });
  const results = await Promise.all([1, 2, 3, 4].map(() => kiln('--version')));
  for (const r of results) t.regex(r.stdout, /^\d+\.\d+\.\d+\n$/);
  const names = await readdir(codeDir);
  t.is(names.length, 1, `one file, no temp files left: ${names.join(' ')}`);
  t.regex(names[0]!, /^none\.main\.[0-9a-f]{24}\.v8$/);
  const file = join(codeDir, names[0]!);
  const made = await readFile(file);
  t.true(whole(made));
  // Runs that found no file each wrote a whole one in its place; one that started after the first
  // rename took that file and counted itself in. Which it was depends on how they were scheduled.
  const concurrent = made[21]!;
  t.true(concurrent >= 1 && concurrent <= 4, `made by ${concurrent} runs`);

  // The next runs that take the cache save it again, up to four runs' worth; later ones leave it as it is.
  for (let runs = concurrent + 1; runs <= 4; runs++) {
    await kiln('--version');
    t.is((await readFile(file))[21], runs);
  }
  const before = await stat(file);
  await kiln('--version');
  t.is((await stat(file)).ino, before.ino);
  // A run that cannot take it writes it anew.
  await writeFile(file, Buffer.concat([made.subarray(0, 54), Buffer.alloc(made.length - 54, 7)]));
  t.regex((await kiln('--version')).stdout, /^\d+\.\d+\.\d+\n$/);
  t.true(whole(await readFile(file)));
  t.not((await stat(file)).ino, before.ino);

  // Without a place for the cache (a file where its directory would be), kiln runs as ever.
  const blocked = join(cacheHome, 'blocked');
  await writeFile(blocked, '');
  const r = await run(process.execPath, [join(repo, 'bin', 'kiln.js'), '--version'], { env: { ...process.env, XDG_CACHE_HOME: blocked } });
  t.regex(r.stdout, /^\d+\.\d+\.\d+\n$/);
  t.is(r.stderr, '');
});
