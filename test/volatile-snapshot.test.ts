import test from 'ava';
import { readFile } from 'node:fs/promises';
import { createSnapshot } from '../runtime/index.js';
import { kernelAtLeast } from '../runtime/kernel-config.js';
import { createContainerSnapshot } from '../runtime/snapshot.js';
import { makeFixture, type Fixture } from './runtime-fixture.js';

let fx: Fixture;
test.before(async () => {
  fx = await makeFixture();
});
test.after.always(async () => fx?.dispose());

/** The super options of the mount at `mountPoint`, from this process's mount table. */
async function superOptions(mountPoint: string): Promise<string[]> {
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const fields = line.split(' ');
    if (fields[4] !== mountPoint) continue;
    return fields.at(-1)!.split(',');
  }
  throw new Error(`${mountPoint} is not mounted`);
}

const volatile = kernelAtLeast(5, 10);

test('host-mounted snapshots are volatile where the kernel has the option: unmounting does not sync the filesystem', async (t) => {
  const snapshot = await createSnapshot({ stateRoot: fx.stateRoot, lowerDirs: [fx.base] });
  try {
    // Newer kernels show the option as fsync=volatile.
    const options = await superOptions(snapshot.rootfs);
    t.is(options.includes('volatile') || options.includes('fsync=volatile'), volatile, options.join(','));
  } finally {
    await snapshot.release();
  }
});

test('the overlay runc mounts for a RUN container is volatile too', async (t) => {
  const snapshot = await createContainerSnapshot({ stateRoot: fx.stateRoot, lowerDirs: [fx.base] });
  t.truthy(snapshot);
  try {
    t.is(snapshot!.rootMount.options?.includes('volatile'), volatile);
  } finally {
    await snapshot!.release();
  }
});
