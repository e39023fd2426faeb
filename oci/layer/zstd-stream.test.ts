import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createCompressor } from './index.js';
import { ZstdCompressStream, type ZstdStreamOptions } from './zstd-stream.js';

/** 5 MiB, half compressible text, half pseudo-random: several 1 MiB jobs, both kinds of block. */
function sample(): Buffer {
  const text = Buffer.from('kiln zstd determinism line\n'.repeat(100_000)).subarray(0, 2.5 * 2 ** 20);
  const noise: Buffer[] = [];
  for (let i = 0, n = 0; n < 2.5 * 2 ** 20; i++, n += 64) noise.push(createHash('sha512').update(String(i)).digest());
  return Buffer.concat([text, Buffer.concat(noise)]);
}

async function compress(stream: ZstdCompressStream | ReturnType<typeof createCompressor>, data: Buffer, chunk: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
  const out: Buffer[] = [];
  for await (const c of Readable.from(parts).pipe(stream)) out.push(c as Buffer);
  return Buffer.concat(out);
}

const opts = (workers: number): ZstdStreamOptions => ({ level: 3, workers, jobSize: 1024 * 1024 });

test('zstd layer output depends on neither the worker count nor how the input is chunked', async (t) => {
  const data = sample();
  const reference = await compress(createCompressor('zstd'), data, 64 * 1024);
  for (const [workers, chunk] of [[1, 4096], [2, 1024 * 1024], [4, 3 * 1024 * 1024 + 17], [8, 100_003]] as const) {
    const blob = await compress(new ZstdCompressStream(opts(workers)), data, chunk);
    t.true(blob.equals(reference), `workers ${workers}, chunks of ${chunk}`);
  }
  t.true(execFileSync('zstd', ['-dc'], { input: reference, maxBuffer: 64 << 20 }).equals(data));
  t.true(reference.length < data.length * 0.6);
});

test('the zstd binding is not loaded until a zstd stream is made', (t) => {
  const script = [
    "const before = () => Object.keys(require.cache).filter((k) => k.includes('zstd-napi')).length;",
    "const { createRequire } = await import('node:module');",
    "const require = createRequire(import.meta.url);",
    `const layer = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});`,
    'const loadedAtImport = before();',
    "layer.createCompressor('zstd').destroy();",
    'console.log(JSON.stringify([loadedAtImport, before()]));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { encoding: 'utf8' });
  t.deepEqual(JSON.parse(out), [0, 2]);
});
