import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walkTree } from './walk.js';

test('a long walk gives the event loop back while it runs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-walk-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (let d = 0; d < 30; d++) {
    await mkdir(join(dir, `d${d}`));
    await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(join(dir, `d${d}`, `f${f}`), '')));
  }
  let loopRan = false;
  setImmediate(() => (loopRan = true));
  let ranDuringWalk = false;
  let entries = 0;
  const start = performance.now();
  for await (const _ of walkTree(dir)) {
    entries++;
    if (loopRan) ranDuringWalk = true;
  }
  const took = performance.now() - start;
  t.is(entries, 3030);
  // A walk within a couple of slices may end before its first yield; a longer one must yield.
  if (took < 6) return t.log(`the walk took only ${took.toFixed(1)} ms: too short to tell`);
  t.true(ranDuringWalk, `the event loop did not run during a ${took.toFixed(1)} ms walk`);
});
