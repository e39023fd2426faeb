import test from 'ava';
import { mkdir, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../cache/index.js';
import { writeBomb } from '../oci/layer/bomb-support.js';
import { kiln } from './build-helpers.js';
import { makeImage } from './registry-image.js';

const MiB = 1024 * 1024;
const base = await mkdtemp(join(tmpdir(), 'kiln-bomb-e2e-'));
// The CLI children inherit these: a small limit, and a private temp dir to see leftovers in.
process.env.KILN_EXTRACT_MAX_BYTES = String(2 * MiB);
process.env.TMPDIR = join(base, 'tmp');
await mkdir(process.env.TMPDIR);
test.after.always(() => rm(base, { recursive: true, force: true }));

const noStack = /\n\s+at /;

test('kiln build: ADD of a zstd bomb fails with a clear error and leaves nothing behind', async (t) => {
  const root = join(base, 'build-root');
  const ctx = join(base, 'ctx');
  await mkdir(ctx);
  await writeBomb(join(ctx, 'bomb.tar.zst'), { compression: 'zstd', zeroBytes: 64 * MiB });
  await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nADD bomb.tar.zst /\n');
  const r = await kiln(root, ['build', '-t', 'bomb:1', ctx]);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /ADD bomb\.tar\.zst: cannot extract archive: the archive expands to more than 2097152 bytes/);
  t.regex(r.stderr, /KILN_EXTRACT_MAX_BYTES/);
  t.notRegex(r.stderr, noStack);
  t.deepEqual((await readdir(process.env.TMPDIR!)).filter((n) => n.startsWith('kiln-')), [], 'no scratch dir left');
  t.deepEqual(await readdir(join(root, 'tmp')), [], 'nothing half-written in the store');
});

test('kiln run: an image whose layer is over the limit fails with a clear error and no snapshot', async (t) => {
  const root = join(base, 'run-root');
  const layer = join(base, 'layer');
  await mkdir(layer);
  await writeFile(join(layer, 'zeros'), '');
  await truncate(join(layer, 'zeros'), 32 * MiB);
  const store = await openStore(root);
  try {
    await makeImage(store, 'big:1', [{ dir: layer, compression: 'zstd' }]);
  } finally {
    store.close();
  }
  const r = await kiln(root, ['run', '--rm', 'big:1', 'true']);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /layer expands to more than 2097152 bytes/);
  t.regex(r.stderr, /KILN_EXTRACT_MAX_BYTES/);
  t.notRegex(r.stderr, noStack);
  t.deepEqual(await readdir(join(root, 'snapshots')), []);
  t.deepEqual(await readdir(join(root, 'tmp')), []);
});
