import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayerError } from './index.js';
import { TarThread } from './tar-thread.js';
import type { TarPiece } from './tar-writer.js';

async function scratch(t: { teardown: (f: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-tar-thread-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function* piecesOf(list: TarPiece[]): AsyncGenerator<TarPiece> {
  yield* list;
}

/** Reads the whole tar from the thread, giving every slab back, as packLayer does. */
async function drain(tar: TarThread): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const slab of tar.chunks()) {
    parts.push(Buffer.from(slab));
    tar.recycle(slab);
  }
  return Buffer.concat(parts);
}

test('the thread lays bytes and file bodies out in order and hashes all of it', async (t) => {
  const dir = await scratch(t);
  // Bodies that straddle slab ends (1 MiB) at odd offsets, a body the size of a slab, many small pieces.
  const big = createHash('sha512').update('a').digest().toString('hex').repeat(40_000).slice(0, 3 * 1024 * 1024 + 77);
  await writeFile(join(dir, 'big'), big);
  await writeFile(join(dir, 'slab'), Buffer.alloc(1024 * 1024, 7));
  await writeFile(join(dir, 'small'), 'small file\n');
  const pieces: TarPiece[] = [Buffer.from('head-1'), { path: join(dir, 'big'), size: big.length }, Buffer.alloc(3)];
  for (let i = 0; i < 1000; i++) pieces.push(Buffer.from(`h${i}`), { path: join(dir, 'small'), size: 11 });
  pieces.push({ path: join(dir, 'slab'), size: 1024 * 1024 }, Buffer.from('end'));
  const expected = Buffer.concat([Buffer.from('head-1'), Buffer.from(big), Buffer.alloc(3), ...Array.from({ length: 1000 }, (_, i) => Buffer.from(`h${i}small file\n`)), Buffer.alloc(1024 * 1024, 7), Buffer.from('end')]);
  const tar = new TarThread(dir, piecesOf(pieces));
  const bytes = await drain(tar);
  t.true(bytes.equals(expected));
  t.is(tar.size, expected.length);
  t.is(tar.digest, `sha256:${createHash('sha256').update(expected).digest('hex')}`);
});

test('only the announced bytes of a file are read, even if it has more', async (t) => {
  const dir = await scratch(t);
  await writeFile(join(dir, 'grown'), 'abcdefgh');
  const bytes = await drain(new TarThread(dir, piecesOf([{ path: join(dir, 'grown'), size: 3 }])));
  t.is(bytes.toString(), 'abc');
});

test('a file shorter than its header announced fails with E_LAYER_IO naming it', async (t) => {
  const dir = await scratch(t);
  await writeFile(join(dir, 'shrunk'), Buffer.alloc(5000, 1));
  const tar = new TarThread(dir, piecesOf([Buffer.from('header'), { path: join(dir, 'shrunk'), size: 3 * 1024 * 1024 }]));
  const err = await t.throwsAsync(drain(tar), { instanceOf: LayerError });
  t.is(err?.code, 'E_LAYER_IO');
  t.regex(err!.message, /shrunk changed size while it was being archived \(3145728 -> 5000 bytes\)/);
  t.regex(err!.hint ?? '', /do not modify the directory/);
});

test('a file that cannot be opened fails with E_LAYER_IO naming the layer directory and the cause', async (t) => {
  const dir = await scratch(t);
  const err = await t.throwsAsync(drain(new TarThread(dir, piecesOf([{ path: join(dir, 'gone'), size: 10 }]))), { instanceOf: LayerError });
  t.is(err?.code, 'E_LAYER_IO');
  t.true(err!.message.startsWith(`cannot write a layer from ${dir}: ENOENT`));
});

test('a walk that fails midway fails the tar', async (t) => {
  const dir = await scratch(t);
  async function* failing(): AsyncGenerator<TarPiece> {
    yield Buffer.from('x');
    throw new Error('walk broke');
  }
  const err = await t.throwsAsync(drain(new TarThread(dir, failing())), { instanceOf: LayerError });
  t.regex(err!.message, /walk broke/);
});
