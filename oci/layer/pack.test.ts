import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { link, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createLayerTar, detectCompression, LayerError, mediaTypeFor, packLayer, packSmallLayer } from './index.js';

async function scratch(t: { teardown: (f: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-pack-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function fill(dir: string): Promise<void> {
  await mkdir(join(dir, 'sub'), { recursive: true });
  await writeFile(join(dir, 'sub/text'), 'hello layer\n'.repeat(20_000));
  await writeFile(join(dir, 'random'), createHash('sha512').update('seed').digest().toString('hex').repeat(3000));
}

for (const [compression, decompress] of [
  ['gzip', ['gzip', '-dc']],
  ['zstd', ['zstd', '-dc']],
  ['none', ['cat']],
] as const) {
  test(`${compression}: diffID and digest match what the CLI tools compute`, async (t) => {
    const dir = await scratch(t);
    await fill(dir);
    const { stream, result } = packLayer(dir, { compression });
    const blob = await collect(stream);
    const packed = await result;
    t.is(packed.digest, sha256(blob));
    t.is(packed.size, blob.length);
    t.is(packed.mediaType, mediaTypeFor(compression));
    t.is(detectCompression(blob), compression);
    const tar = execFileSync(decompress[0], decompress.slice(1), { input: blob, maxBuffer: 64 << 20 });
    t.is(packed.diffID, sha256(tar));
    t.is(packed.uncompressedSize, tar.length);
    // The tar itself is what createLayerTar produces.
    t.true(tar.equals(await collect(createLayerTar(dir))));
    // du counts allocated blocks, each hard-linked inode once, the directory itself included.
    t.is(packed.diskBytes, Number(execFileSync('du', ['-s', '-B1', dir], { encoding: 'utf8' }).split('\t')[0]));
  });
}

/** Past packLayer's 8 MiB thread threshold: odd sizes around its 1 MiB slabs, a hard link, an empty file. */
async function fillBig(dir: string): Promise<void> {
  await fill(dir);
  const noise = createHash('sha512').update('big').digest().toString('hex').repeat(80_000);
  await writeFile(join(dir, 'sub/big'), noise.slice(0, 9 * 1024 * 1024 + 1234));
  await writeFile(join(dir, 'slab'), Buffer.alloc(1024 * 1024, 'k'));
  await writeFile(join(dir, 'empty'), '');
  await link(join(dir, 'slab'), join(dir, 'slab-link'));
}

for (const [compression, decompress] of [
  ['gzip', ['gzip', '-dc']],
  ['zstd', ['zstd', '-dc']],
  ['none', ['cat']],
] as const) {
  test(`${compression}: a layer big enough to be read on a thread has the same tar and digests`, async (t) => {
    const dir = await scratch(t);
    await fillBig(dir);
    const { stream, result } = packLayer(dir, { compression });
    const blob = await collect(stream);
    const packed = await result;
    t.is(packed.digest, sha256(blob));
    t.is(packed.size, blob.length);
    const tar = execFileSync(decompress[0], decompress.slice(1), { input: blob, maxBuffer: 64 << 20 });
    t.true(tar.length > 10 * 1024 * 1024);
    t.is(packed.diffID, sha256(tar));
    t.is(packed.uncompressedSize, tar.length);
    t.true(tar.equals(await collect(createLayerTar(dir))));
    // du counts allocated blocks, each hard-linked inode once, the directory itself included.
    t.is(packed.diskBytes, Number(execFileSync('du', ['-s', '-B1', dir], { encoding: 'utf8' }).split('\t')[0]));
  });
}

test('a walk of thousands of small files goes to the thread and gives the same tar', async (t) => {
  const dir = await scratch(t);
  await Promise.all(Array.from({ length: 2000 }, (_, i) => writeFile(join(dir, `f${i}`), `file ${i}\n`.repeat(i % 7))));
  const { stream, result } = packLayer(dir, { compression: 'zstd' });
  const tar = execFileSync('zstd', ['-dc'], { input: await collect(stream), maxBuffer: 64 << 20 });
  t.true(tar.equals(await collect(createLayerTar(dir))));
  t.is((await result).diffID, sha256(tar));
});

test('a big pack abandoned midway fails, and leaves no thread keeping the process alive', async (t) => {
  const dir = await scratch(t);
  await fillBig(dir);
  // In a child process: after a full pack and an abandoned one, it must exit by itself.
  const script = [
    `const { packLayer } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});`,
    `const dir = ${JSON.stringify(dir)};`,
    "const whole = packLayer(dir, { compression: 'zstd' });",
    'for await (const _ of whole.stream);',
    'await whole.result;',
    "const cut = packLayer(dir, { compression: 'zstd' });",
    'for await (const _ of cut.stream) break;',
    "const outcome = await cut.result.then(() => 'resolved', () => 'rejected');",
    'console.log(outcome);',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  t.is(out.trim(), 'rejected');
});

test('expectLayer starts the thread of a big pack ahead, once; the pack takes it; a small one starts none', async (t) => {
  const dir = await scratch(t);
  await fillBig(dir);
  // In a child process, whose threads this test counts, and which must still exit by itself.
  const script = [
    `const { expectLayer, packLayer } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});`,
    "const { readdirSync } = await import('node:fs');",
    "const threads = () => readdirSync('/proc/self/task').length;",
    'const settle = () => new Promise((r) => setTimeout(r, 300));',
    'const base = threads();',
    'expectLayer({ bytes: 1000, files: 1 });',
    'await settle();',
    'const small = threads() - base;',
    'expectLayer({ bytes: 64 * 1024 * 1024, files: 10 });',
    'for (let i = 0; i < 100 && threads() === base; i++) await new Promise((r) => setTimeout(r, 20));',
    'const big = threads() - base;',
    'expectLayer({ bytes: 64 * 1024 * 1024, files: 10 });',
    'await settle();',
    'const again = threads() - base;',
    `const packed = packLayer(${JSON.stringify(dir)}, { compression: 'none' });`,
    'for await (const _ of packed.stream);',
    'await packed.result;',
    'await settle();',
    'console.log(JSON.stringify({ small, big, again, afterPack: threads() - base }));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  const r = JSON.parse(out) as { small: number; big: number; again: number; afterPack: number };
  t.is(r.small, 0, 'no thread for a small layer');
  t.true(r.big > 0, 'a thread for a big one');
  t.is(r.again, r.big, 'one thread however often it is expected');
  t.is(r.afterPack, r.big, 'the pack ran on that thread and left it idle, not on a second one');
});

test('the same content written at different times gives the same digests with sourceDateEpoch', async (t) => {
  const a = await scratch(t);
  const b = await scratch(t);
  await fill(a);
  await fill(b);
  // Different mtimes on every path in b.
  for (const p of ['sub/text', 'random', 'sub']) await utimes(join(b, p), 2_000_000_000, 2_000_000_000);
  const epoch = 1_700_000_000;
  const pack = async (dir: string) => {
    const { stream, result } = packLayer(dir, { compression: 'zstd', sourceDateEpoch: epoch });
    await collect(stream);
    return result;
  };
  const [ra, rb, ra2] = [await pack(a), await pack(b), await pack(a)];
  t.is(ra.digest, rb.digest);
  t.is(ra.diffID, rb.diffID);
  t.is(ra.digest, ra2.digest);
  // Without clamping the mtimes differ, so the layers differ: the test above is not vacuous.
  const unclamped = async (dir: string) => {
    const { stream, result } = packLayer(dir, { compression: 'none' });
    await collect(stream);
    return (await result).diffID;
  };
  t.not(await unclamped(a), await unclamped(b));
});

test('sourceDateEpoch clamps only later mtimes', async (t) => {
  const dir = await scratch(t);
  await writeFile(join(dir, 'old'), 'o');
  await writeFile(join(dir, 'new'), 'n');
  await utimes(join(dir, 'old'), 1_000_000_000, 1_000_000_000);
  await utimes(join(dir, 'new'), 1_900_000_000, 1_900_000_000);
  const tar = await collect(createLayerTar(dir, { sourceDateEpoch: 1_500_000_000 }));
  const listing = execFileSync('tar', ['--full-time', '--utc', '-tvf', '-'], { input: tar, env: { ...process.env, TZ: 'UTC' } }).toString();
  t.regex(listing, /2001-09-09 01:46:40 old/);
  t.regex(listing, /2017-07-14 02:40:00 new/);
});

test('detectCompression and mediaTypeFor', (t) => {
  t.is(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
  t.is(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
  t.is(detectCompression(Buffer.from('bin/')), 'none');
  t.is(detectCompression(Buffer.alloc(0)), 'none');
  t.is(mediaTypeFor('gzip'), 'application/vnd.oci.image.layer.v1.tar+gzip');
  t.is(mediaTypeFor('zstd'), 'application/vnd.oci.image.layer.v1.tar+zstd');
  t.is(mediaTypeFor('none'), 'application/vnd.oci.image.layer.v1.tar');
});

test('a directory that cannot be read fails the pack with a rejected result and an errored stream', async (t) => {
  const { stream, result } = packLayer('/nonexistent/kiln-layer-dir', { compression: 'gzip' });
  await t.throwsAsync(collect(stream), { instanceOf: LayerError });
  const err = await t.throwsAsync(result, { instanceOf: LayerError });
  t.is(err?.code, 'E_LAYER_IO');
});

test('packSmallLayer makes the blob packLayer streams, for a small layer with links and whiteouts', async (t) => {
  const dir = await scratch(t);
  await mkdir(join(dir, 'etc/opaque'), { recursive: true });
  await writeFile(join(dir, 'etc/hosts'), '127.0.0.1 localhost\n');
  await link(join(dir, 'etc/hosts'), join(dir, 'etc/hosts.link'));
  await symlink('hosts', join(dir, 'etc/hosts.sym'));
  await writeFile(join(dir, 'empty'), '');
  execFileSync('mknod', [join(dir, 'gone'), 'c', '0', '0']);
  for (const level of [1, undefined]) {
    const small = await packSmallLayer(dir, { compression: 'gzip', ...(level ? { level } : {}) });
    const { stream, result } = packLayer(dir, { compression: 'gzip', ...(level ? { level } : {}) });
    const blob = await collect(stream);
    t.truthy(small);
    t.true(small!.blob.equals(blob), `level ${level}`);
    t.deepEqual(small!.layer, await result);
  }
});

test('packSmallLayer leaves a layer over 256 KiB, and other compressions, to packLayer', async (t) => {
  const dir = await scratch(t);
  await writeFile(join(dir, 'a'), Buffer.alloc(200 * 1024, 'a'));
  t.truthy(await packSmallLayer(dir, { compression: 'gzip' }));
  t.is(await packSmallLayer(dir, { compression: 'zstd' }), undefined);
  await writeFile(join(dir, 'b'), Buffer.alloc(60 * 1024, 'b'));
  t.is(await packSmallLayer(dir, { compression: 'gzip' }), undefined);
  await t.throwsAsync(packSmallLayer('/nonexistent/kiln-layer-dir', { compression: 'gzip' }), { instanceOf: LayerError });
});
