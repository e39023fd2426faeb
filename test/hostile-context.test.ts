/**
 * Hostile build contexts, built for real: links pointing out of the context, sources that try to
 * climb out of it, names with newlines and not UTF-8, a 100,000-file context, and a file
 * rewritten between being hashed and being copied.
 */
import test from 'ava';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerfileError, isKilnError } from '../common/errors.js';
import { openStore } from '../cache/index.js';
import { applyLayer } from '../oci/index.js';
import { build, newBuildId, subscribe, type BuildResult } from '../solver/index.js';
import { openContext } from '../solver/context/index.js';
import { freshRoot } from './build-helpers.js';

const SECRET = 'HOST SECRET outside the context';

interface Sandbox {
  root: string;
  /** Holds ctx/ and, beside it, a secret file nothing may copy. */
  dir: string;
  ctx: string;
  outside: string;
  cleanup(): Promise<void>;
}

async function sandbox(): Promise<Sandbox> {
  const { root, cleanup } = await freshRoot();
  const dir = await mkdtemp(join(tmpdir(), 'kiln-hostile-'));
  const ctx = join(dir, 'ctx');
  await mkdir(ctx);
  const outside = join(dir, 'secret.txt');
  await writeFile(outside, SECRET);
  return { root, dir, ctx, outside, cleanup: async () => (await cleanup(), await rm(dir, { recursive: true, force: true })) };
}

function buildIn(s: Sandbox, dockerfile: string, noCache = false): Promise<BuildResult> {
  return build({ stateRoot: s.root, dockerfile, dockerfileName: 'Dockerfile', contextDir: s.ctx, noCache });
}

/** The image's top layer, extracted into a fresh dir. */
async function topLayer(s: Sandbox, r: BuildResult): Promise<string> {
  const out = await mkdtemp(join(s.dir, 'layer-'));
  const store = await openStore(s.root);
  try {
    await applyLayer(store.openBlob(r.layers.at(-1)!.digest), out, { whiteouts: 'apply' });
  } finally {
    store.close();
  }
  return out;
}

/** Every regular file's content below dir, concatenated: what an escape would have copied. */
async function allContent(dir: string): Promise<string> {
  let text = '';
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) text += await readFile(join(e.parentPath, e.name), 'utf8');
  }
  return text;
}

test('symlinks out of the context are copied as links, never followed to what they point at outside', async (t) => {
  const s = await sandbox();
  try {
    await writeFile(join(s.ctx, 'inside.txt'), 'inside');
    await symlink(s.outside, join(s.ctx, 'abs'));
    await symlink('../secret.txt', join(s.ctx, 'rel'));
    await symlink(s.dir, join(s.ctx, 'updir'));
    const r = await buildIn(s, 'FROM busybox\nCOPY . /ctx/\n');
    const layer = await topLayer(s, r);
    t.is(await readlink(join(layer, 'ctx/abs')), s.outside);
    t.is(await readlink(join(layer, 'ctx/rel')), '../secret.txt');
    t.is(await readlink(join(layer, 'ctx/updir')), s.dir);
    t.notRegex(await allContent(layer), /HOST SECRET/);

    // Named as a source, a link resolves with the context as `/`: never to the host's file.
    for (const src of ['abs', 'rel', 'updir/secret.txt']) {
      const e = await buildIn(s, `FROM busybox\nCOPY ${src} /x\n`).then(
        async (res) => ({ content: await allContent(await topLayer(s, res)) }),
        (err: unknown) => ({ err }),
      );
      if ('err' in e) t.true(isKilnError(e.err), `${src}: ${String(e.err)}`);
      else t.notRegex(e.content, /HOST SECRET/, src);
    }
  } finally {
    await s.cleanup();
  }
});

test('COPY ../x and absolute sources stay inside the context', async (t) => {
  const s = await sandbox();
  try {
    await writeFile(join(s.ctx, 'inside.txt'), 'inside');
    const r = await buildIn(s, 'FROM busybox\nCOPY ../inside.txt /up\nCOPY /inside.txt /abs\nCOPY ../../../../inside.txt /deep\n');
    const store = await openStore(s.root);
    const img = await store.resolveImage(r.manifestDigest).finally(() => store.close());
    t.is(img.layers.length, 4);
    for (const [i, name] of [[1, 'up'], [2, 'abs'], [3, 'deep']] as const) {
      const out = await mkdtemp(join(s.dir, 'l-'));
      const st = await openStore(s.root);
      await applyLayer(st.openBlob(img.layers[i]!.digest), out, { whiteouts: 'apply' }).finally(() => st.close());
      t.is(await readFile(join(out, name), 'utf8'), 'inside');
    }
    // What only exists outside is not found, with a positioned error.
    const err = await t.throwsAsync(buildIn(s, 'FROM busybox\nCOPY ../secret.txt /s\n'));
    t.true(isKilnError(err), String(err));
    t.regex(String(err?.message), /secret\.txt/);
    const abs = await t.throwsAsync(buildIn(s, `FROM busybox\nCOPY ${s.outside} /s\n`));
    t.true(isKilnError(abs), String(abs));
  } finally {
    await s.cleanup();
  }
});

// Names that are not UTF-8 cannot go through Node's string paths, the cache keys or the ignore
// rules, so kiln refuses them with a positioned error naming the bytes, unless they are ignored.
test('a newline in a name is copied byte for byte; a name that is not UTF-8 is a clear error unless ignored', async (t) => {
  const s = await sandbox();
  try {
    const newline = 'two\nlines.txt';
    const invalid = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x74]);
    await writeFile(join(s.ctx, newline), 'N');
    await mkdir(join(s.ctx, 'sub'));
    await writeFile(Buffer.concat([Buffer.from(`${s.ctx}/sub/`), invalid]), 'U');
    for (const dockerfile of ['FROM busybox\nCOPY . /ctx/\n', 'FROM busybox\nCOPY sub/bad* /x/\n']) {
      const err = await t.throwsAsync(buildIn(s, dockerfile));
      t.true(err instanceof DockerfileError, String(err));
      t.is((err as DockerfileError).code, 'E_CONTEXT_NAME');
      t.is((err as DockerfileError).position.line, 2);
      t.regex(String(err?.message), /"sub\/bad\\xff\\xfe\.t": its name is not valid UTF-8 \(bytes 62 61 64 ff fe 2e 74\)/);
      t.regex(String((err as DockerfileError).hint), /rename it, or exclude it in \.dockerignore/);
    }
    await writeFile(join(s.ctx, '.dockerignore'), 'sub/bad*\n');
    const r = await buildIn(s, 'FROM busybox\nCOPY . /ctx/\n');
    const layer = await topLayer(s, r);
    const names = await readdir(join(layer, 'ctx'), { encoding: 'buffer' });
    t.true(names.some((n) => n.equals(Buffer.from(newline))), names.map((n) => JSON.stringify(n.toString('latin1'))).join(', '));
    t.is(await readFile(join(layer, 'ctx', newline), 'utf8'), 'N');
    t.deepEqual(await readdir(join(layer, 'ctx/sub')), []);
    // --exclude skips it the same way.
    await writeFile(join(s.ctx, '.dockerignore'), '');
    const ex = await buildIn(s, 'FROM busybox\nCOPY --exclude=bad* sub /x/\n');
    t.deepEqual(await readdir(join(await topLayer(s, ex), 'x')), []);
  } finally {
    await s.cleanup();
  }
});

// All 100,000 files are walked, matched against .dockerignore and hashed; copying all of them into
// a layer as well would make this one test cost minutes, and COPY of many files has its own tests
// and the S7 benchmark.
test('a 100,000-file context: walked, ignored and hashed whole, built, rebuilt from the stat cache', async (t) => {
  t.timeout(10 * 60_000);
  const s = await sandbox();
  try {
    const made = Date.now();
    for (let d = 0; d < 100; d++) {
      const dir = join(s.ctx, `d${d}`);
      mkdirSync(dir);
      for (let f = 0; f < 1000; f++) writeFileSync(join(dir, `f${f}`), `${d}/${f}`);
    }
    t.log(`100,000 files written in ${Date.now() - made} ms`);
    const store = await openStore(s.root);
    try {
      const hashed = Date.now();
      const ctx = await openContext(s.ctx, { store });
      const whole = await ctx.checksum(['.']);
      ctx.close();
      const again = await openContext(s.ctx, { store });
      const warm = Date.now();
      t.is((await again.checksum(['.'])).digest, whole.digest, 'the stat cache gives the same digest');
      again.close();
      t.log(`checksum of 100,000 files: ${warm - hashed} ms cold, ${Date.now() - warm} ms from the stat cache`);
      t.is([...whole.files.keys()].filter((k) => /^d\d+\/f\d+$/.test(k)).length, 100_000);
    } finally {
      store.close();
    }
    await writeFile(join(s.ctx, '.dockerignore'), 'd*/f[1-9]*\n');
    const started = Date.now();
    const r = await buildIn(s, 'FROM busybox\nCOPY . /big/\n');
    const first = Date.now() - started;
    const rebuilt = Date.now();
    const r2 = await buildIn(s, 'FROM busybox\nCOPY . /big/\n');
    t.log(`COPY . of the context (100 files left by .dockerignore): ${first} ms; cached rebuild ${Date.now() - rebuilt} ms`);
    t.is(r2.manifestDigest, r.manifestDigest);
    t.is(r2.stats.cached, 1);
    const layer = await topLayer(s, r);
    t.deepEqual((await readdir(join(layer, 'big', 'd7'))).sort(), ['f0']);
    t.is((await readdir(join(layer, 'big'))).filter((n) => n.startsWith('d')).length, 100);
  } finally {
    await s.cleanup();
  }
});

// The COPY source is hashed (the cache key) and copied in two separate reads. The rewrite happens
// in between, deterministically: progress events are published synchronously, and the step's
// `start` event comes after its cache key and before its copy.
test('a file rewritten between hashing and copying never gives a wrong cache hit', async (t) => {
  t.timeout(5 * 60_000);
  const s = await sandbox();
  try {
    const f = join(s.ctx, 'f.txt');
    // Same size and, after each write, the same mtime: only the bytes (and ctime) tell the versions apart.
    const versions = ['A'.repeat(4096), 'B'.repeat(4096), 'C'.repeat(4096)];
    const fixed = new Date('2020-01-01T00:00:00Z');
    const putSync = (v: string) => {
      writeFileSync(f, v);
      utimesSync(f, fixed, fixed);
    };
    const dockerfile = 'FROM busybox\nCOPY f.txt /f.txt\n';
    // Old enough that the stat cache trusts its times (a re-stat vouches), then just written (racy: the copy is read back).
    for (const settle of [true, false]) {
      putSync(versions[0]!);
      if (settle) await new Promise((r) => setTimeout(r, 200));
      const buildId = newBuildId();
      let rewrites = 0;
      const stop = subscribe(buildId, (ev) => {
        if (ev.type === 'start' && ev.name.includes('COPY f.txt')) {
          putSync(versions[1]!);
          rewrites++;
        }
      });
      const err = await t.throwsAsync(build({ stateRoot: s.root, dockerfile, dockerfileName: 'Dockerfile', contextDir: s.ctx, buildId })).finally(stop);
      t.is(rewrites, 1);
      t.true(isKilnError(err), String(err));
      t.regex(String(err?.message), /file changed while being copied: f\.txt; retry the build/);
    }
    // Whatever the failed builds left, each version builds to its own bytes.
    for (const v of [versions[0]!, versions[1]!, versions[2]!, versions[0]!]) {
      putSync(v);
      const r = await buildIn(s, dockerfile);
      t.is(await readFile(join(await topLayer(s, r), 'f.txt'), 'utf8'), v);
    }
    t.true((await lstat(f)).isFile());
  } finally {
    await s.cleanup();
  }
});
