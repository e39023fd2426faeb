/**
 * Test helper process for the cleanup test. `run STATE BASE` starts a container the way a build
 * step does, with a cache mount (`locked` unless SHARING says `private`), and waits to be
 * SIGKILLed; `cleanup STATE` is the next kiln
 * process and prints what startup cleanup removed.
 */
import { cleanupLeftovers, createSnapshot, exec } from '../runtime/index.js';

const [mode, stateRoot, base, sharing = 'locked'] = process.argv.slice(2);
if (mode === 'run') {
  const snapshot = await createSnapshot({ stateRoot: stateRoot!, lowerDirs: [base!] });
  process.stdout.write('mounted\n');
  await exec({
    stateRoot: stateRoot!,
    rootfs: snapshot.rootfs,
    args: ['sh', '-c', 'echo started; sleep 60'],
    mounts: [{ type: 'cache', id: 'killed', target: '/c', sharing: sharing as 'locked' | 'private' }],
    stdout: 'inherit',
  });
  await snapshot.release();
} else {
  process.stdout.write(JSON.stringify(await cleanupLeftovers(stateRoot!)));
}
