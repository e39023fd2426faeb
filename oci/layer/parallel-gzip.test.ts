import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { gzipBlockSync, ParallelGzip } from './parallel-gzip.js';

const MiB = 1024 * 1024;

/** Compressible text and pseudo-random bytes in turn, so blocks of both kinds cross block edges. */
function sample(size: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0, n = 0; n < size; i++) {
    const part = i % 2 === 0 ? Buffer.from(`line ${i} of a layer that compresses well\n`.repeat(3000)) : createHash('sha512').update(String(i)).digest();
    parts.push(part);
    n += part.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

async function gzip(data: Buffer, chunk: number, level = 1): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  const out: Buffer[] = [];
  for await (const c of Readable.from(parts).pipe(new ParallelGzip(level))) out.push(c as Buffer);
  return Buffer.concat(out);
}

test('any length, at and around block edges, gives one gzip member that gunzip and zlib restore exactly', async (t) => {
  for (const size of [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 17]) {
    const data = sample(size);
    const blob = await gzip(data, 64 * 1024);
    t.true(gunzipSync(blob).equals(data), `zlib, ${size} bytes`);
    t.true(execFileSync('gzip', ['-dc'], { input: blob, maxBuffer: 64 * MiB }).equals(data), `gzip -d, ${size} bytes`);
  }
});

test('the blob depends only on the bytes, not on how they arrive', async (t) => {
  const data = sample(5 * MiB + 123);
  const reference = await gzip(data, 64 * 1024);
  for (const chunk of [1000, MiB, 3 * MiB + 7, data.length]) t.true((await gzip(data, chunk)).equals(reference), `chunks of ${chunk}`);
  t.true(reference.length < data.length * 0.6, 'the blocks still compress (each primed with the window before it)');
  t.false((await gzip(data, MiB, 6)).equals(reference), 'the level is used');
});

test('a producer may reuse its buffer once a write is done: blocks still deflating are unaffected', async (t) => {
  const data = sample(4 * MiB + 99);
  const gz = new ParallelGzip(1);
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((resolve) => gz.on('end', resolve));
  const slab = Buffer.alloc(300 * 1024);
  for (let at = 0; at < data.length; at += slab.length) {
    const n = data.copy(slab, 0, at, at + slab.length);
    await new Promise<void>((resolve, reject) => gz.write(slab.subarray(0, n), (err) => (err ? reject(err) : resolve())));
    slab.fill(0xee);
  }
  gz.end();
  await ended;
  t.true(gunzipSync(Buffer.concat(out)).equals(data));
});

test('blocks are filled again once deflated: a stream of many blocks still restores exactly, in any chunking', async (t) => {
  // Five times the blocks in flight, so most blocks are reused ones, each primed with the tail of the block before.
  const data = sample(20 * MiB + 4321);
  const reference = await gzip(data, 64 * 1024);
  t.true(gunzipSync(reference).equals(data));
  t.true(execFileSync('gzip', ['-dc'], { input: reference, maxBuffer: 64 * MiB }).equals(data));
  t.true((await gzip(data, 3 * MiB + 1)).equals(reference));
});

test('gzipBlockSync gives the bytes ParallelGzip streams, for input up to one block', async (t) => {
  for (const size of [0, 1, 300, 200 * 1024, MiB]) {
    const data = sample(size);
    for (const level of [1, -1]) t.true(gzipBlockSync(data, level).equals(await gzip(data, 4096, level)), `${size} bytes, level ${level}`);
  }
  t.throws(() => gzipBlockSync(sample(MiB + 1), 1), { instanceOf: RangeError });
});
