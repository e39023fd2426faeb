import test from 'ava';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withStore } from '../../cache/test-support.js';
import { writeBomb, type BombSpec } from './bomb-support.js';
import { applyLayer, DEFAULT_EXTRACT_LIMITS, extractLimitsFromEnv, LayerError, type ExtractLimits } from './index.js';

const MiB = 1024 * 1024;

async function scratch(t: { teardown: (f: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-bomb-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function bombIn(dir: string, spec: BombSpec): Promise<string> {
  const path = join(dir, 'bomb');
  await writeBomb(path, spec);
  return path;
}

const limits = (o: Partial<ExtractLimits>): ExtractLimits => ({ ...DEFAULT_EXTRACT_LIMITS, ...o });

for (const compression of ['gzip', 'zstd'] as const) {
  test(`a ${compression} bomb stops at the size limit, long before it is all written`, async (t) => {
    const dir = await scratch(t);
    const bomb = await bombIn(dir, { compression, zeroBytes: 64 * MiB });
    t.true((await stat(bomb)).size < MiB, 'the bomb is small compressed');
    const target = join(dir, 'target');
    await mkdir(target);
    const err = await t.throwsAsync(applyLayer(createReadStream(bomb), target, { limits: limits({ maxBytes: 4 * MiB }) }), { instanceOf: LayerError });
    t.is(err?.code, 'E_LAYER_TOO_LARGE');
    t.regex(err!.message, /layer expands to more than 4194304 bytes/);
    t.regex(err!.hint ?? '', /KILN_EXTRACT_MAX_BYTES/);
    const written = await stat(join(target, 'zeros')).then((s) => s.size, () => 0);
    t.true(written <= 4 * MiB, `only up to the limit was written (${written} bytes)`);
  });
}

test('the ratio guard stops a zstd stream of almost nothing but repetition', async (t) => {
  const dir = await scratch(t);
  const bomb = await bombIn(dir, { compression: 'zstd', zeroBytes: 32 * MiB });
  const target = join(dir, 'target');
  await mkdir(target);
  const err = await t.throwsAsync(applyLayer(createReadStream(bomb), target, { limits: limits({ maxRatio: 1000, ratioAfterBytes: 4 * MiB }) }), { instanceOf: LayerError });
  t.is(err?.code, 'E_LAYER_RATIO');
  t.regex(err!.message, /decompression bomb/);
});

test('the ratio guard lets a well-compressible but ordinary layer through', async (t) => {
  const dir = await scratch(t);
  const bomb = await bombIn(dir, { compression: 'gzip', zeroBytes: 16 * MiB });
  const target = join(dir, 'target');
  await mkdir(target);
  await applyLayer(createReadStream(bomb), target, { limits: limits({ maxRatio: 10_000, ratioAfterBytes: MiB }) });
  t.is((await stat(join(target, 'zeros'))).size, 16 * MiB);
});

test('too many entries are refused with their own error', async (t) => {
  const dir = await scratch(t);
  const bomb = await bombIn(dir, { compression: 'gzip', emptyFiles: 300 });
  const target = join(dir, 'target');
  await mkdir(target);
  const err = await t.throwsAsync(applyLayer(createReadStream(bomb), target, { limits: limits({ maxEntries: 100 }) }), { instanceOf: LayerError });
  t.is(err?.code, 'E_LAYER_TOO_MANY_ENTRIES');
  t.regex(err!.hint ?? '', /KILN_EXTRACT_MAX_ENTRIES/);
  t.true((await readdir(target)).length <= 100);
});

test('limits come from the environment, and a malformed value is a clear error', (t) => {
  t.deepEqual(extractLimitsFromEnv({}), DEFAULT_EXTRACT_LIMITS);
  t.deepEqual(extractLimitsFromEnv({ KILN_EXTRACT_MAX_BYTES: '1000', KILN_EXTRACT_MAX_ENTRIES: '5', KILN_EXTRACT_MAX_RATIO: '0' }), {
    ...DEFAULT_EXTRACT_LIMITS,
    maxBytes: 1000,
    maxEntries: 5,
    maxRatio: 0,
  });
  const err = t.throws(() => extractLimitsFromEnv({ KILN_EXTRACT_MAX_BYTES: '10GB' }), { instanceOf: LayerError });
  t.is(err?.code, 'E_LAYER_LIMIT_CONFIG');
});

test('a bomb layer in the store leaves no snapshot and no temp dir behind', async (t) => {
  const dir = await scratch(t);
  const bomb = await bombIn(dir, { compression: 'gzip', zeroBytes: 32 * MiB });
  const before = process.env.KILN_EXTRACT_MAX_BYTES;
  process.env.KILN_EXTRACT_MAX_BYTES = String(2 * MiB);
  t.teardown(() => {
    if (before === undefined) delete process.env.KILN_EXTRACT_MAX_BYTES;
    else process.env.KILN_EXTRACT_MAX_BYTES = before;
  });
  await withStore(async (store, root) => {
    const blob = await store.writeBlob(createReadStream(bomb));
    const err = await t.throwsAsync(store.layerDir({ digest: blob.digest, diffID: `sha256:${'0'.repeat(64)}` }));
    t.is((err as LayerError).code, 'E_LAYER_TOO_LARGE');
    t.deepEqual(await readdir(join(root, 'snapshots')), []);
    t.deepEqual((await readdir(join(root, 'tmp'))).filter((n) => n.includes('snap')), []);
  });
});
