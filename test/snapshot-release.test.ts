import test from 'ava';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createSnapshot, createUpperSnapshot } from '../runtime/index.js';
import { makeFixture, type Fixture } from './runtime-fixture.js';

let fx: Fixture;
test.before(async () => {
  fx = await makeFixture();
});
test.after.always(async () => fx?.dispose());

test('release unmounts and removes a snapshot, whether its upper dir became a layer or is still there', async (t) => {
  const kept = join(fx.stateRoot, 'kept-upper');
  t.teardown(() => rm(kept, { recursive: true, force: true }));
  const committed = await createSnapshot({ stateRoot: fx.stateRoot, lowerDirs: [fx.base] });
  await writeFile(join(committed.rootfs, 'made'), 'in the upper dir\n');
  await committed.unmount();
  await rename(committed.upperDir, kept);
  await committed.release();
  t.false(existsSync(dirname(committed.rootfs)), 'the mount point and work dir left behind are gone');
  t.is(await readFile(join(kept, 'made'), 'utf8'), 'in the upper dir\n');

  const failed = await createUpperSnapshot(fx.stateRoot);
  await writeFile(join(failed.upperDir, 'left'), 'a failed step wrote this\n');
  await failed.release();
  t.false(existsSync(dirname(failed.upperDir)), 'the whole snapshot, upper dir and all, is gone');

  const mounted = await createSnapshot({ stateRoot: fx.stateRoot, lowerDirs: [fx.base] });
  await mounted.release();
  t.false((await readFile('/proc/self/mountinfo', 'utf8')).includes(` ${mounted.rootfs} `), 'unmounted by the time release returns');
  t.false(existsSync(dirname(mounted.rootfs)));
});
