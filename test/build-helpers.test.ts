import test from 'ava';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectOutput } from './process-output.js';

test('a test process that made fresh roots leaves no kiln directory in the temp dir', async (t) => {
  // A temp dir of its own, so other test processes' roots do not count.
  const tmp = await mkdtemp(join(tmpdir(), 'kiln-helpers-'));
  try {
    const script = `const { freshRoot } = await import(${JSON.stringify(import.meta.resolve('./build-helpers.ts'))}); const r = await freshRoot(); await r.cleanup();`;
    const r = await collectOutput(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: tmp } });
    t.is(r.code, 0, r.stderr);
    t.deepEqual((await readdir(tmp)).filter((f) => f.startsWith('kiln-')), []);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
