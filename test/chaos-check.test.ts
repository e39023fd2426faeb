/**
 * `kiln check` on what a SIGKILLed kiln process leaves in the runtime: its runc container, its
 * overlay mount and its scratch dir are found (exit 1) without being touched, `--repair`
 * removes them (exit 0), and the root is clean afterwards.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { kiln } from './build-helpers.js';
import { makeFixture, type Fixture } from './runtime-fixture.js';

const target = join(dirname(fileURLToPath(import.meta.url)), 'runtime-kill-target.ts');
let fx: Fixture;
test.before(async () => {
  fx = await makeFixture();
});
test.after.always(async () => fx?.dispose());

/** Runs a container the way a RUN step does and SIGKILLs its kiln process once the container runs. */
async function killMidRun(stateRoot: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), target, 'run', stateRoot, fx.base, 'private'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  while (!out.includes('started') && child.exitCode === null) await sleep(10);
  child.kill('SIGKILL');
  await exited;
}

test('runtime leftovers of a killed kiln are found by kiln check and removed by --repair', async (t) => {
  const root = fx.isolatedStateRoot();
  await killMidRun(root);
  const found = await kiln(root, ['check']);
  t.is(found.code, 1, found.stderr);
  const kinds = found.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
  t.deepEqual(kinds.sort(), ['leftover-container', 'leftover-mount', 'leftover-scratch'], found.stdout);
  // Read-only: still mounted after the check.
  const mount = found.stdout.split('\n').find((l) => l.startsWith('leftover-mount'))!.split('\t')[1]!;
  t.true((await readFile('/proc/self/mountinfo', 'utf8')).includes(` ${mount} `));

  const repaired = await kiln(root, ['check', '--repair']);
  t.is(repaired.code, 0, repaired.stdout + repaired.stderr);
  t.is(repaired.stdout.split('\n').filter((l) => l.startsWith('repaired ')).length, 3, repaired.stdout);
  t.false((await readFile('/proc/self/mountinfo', 'utf8')).includes(` ${mount} `));
  const clean = await kiln(root, ['check']);
  t.is(clean.code, 0, clean.stdout + clean.stderr);
  t.is(clean.stdout, '');
});
