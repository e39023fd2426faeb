import test from 'ava';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Store } from '../cache/index.js';
import { createSnapshot } from '../runtime/index.js';
import { makeFixture, repoRoot, type Fixture } from './runtime-fixture.js';

const run = promisify(execFile);
let fx: Fixture;
test.before(async () => {
  fx = await makeFixture();
});
test.after.always(async () => fx?.dispose());

/** Whether `dir` has ext4's T (top of directory hierarchy) attribute; undefined where lsattr cannot tell. */
async function topDir(dir: string): Promise<boolean | undefined> {
  try {
    const { stdout } = await run('lsattr', ['-d', dir]);
    return stdout.split(' ')[0]!.includes('T');
  } catch {
    return undefined;
  }
}

let probed: Promise<boolean> | undefined;
/** Whether the fixture's filesystem takes the flag at all (ext4 does; tmpfs, overlay do not). */
function flagSupported(): Promise<boolean> {
  probed ??= (async () => {
    const probe = join(fx.dir, 'probe');
    await mkdir(probe);
    try {
      await run('chattr', ['+T', probe]);
      return (await topDir(probe)) === true;
    } catch {
      return false;
    }
  })();
  return probed;
}

test("snapshots are made in a process's scratch dir in rt/, which the store marks an Orlov top dir", async (t) => {
  if (!(await flagSupported())) return t.pass('the filesystem has no T attribute');
  const stateRoot = fx.isolatedStateRoot();
  (await Store.open(stateRoot)).close();
  const snapshot = await createSnapshot({ stateRoot, lowerDirs: [fx.base] });
  try {
    const scratch = join(snapshot.rootfs, '..', '..');
    t.is(join(scratch, '..'), join(stateRoot, 'rt'));
    t.true(await topDir(join(stateRoot, 'rt')));
    t.false(await topDir(scratch), 'only the dir whose children are separate trees');
  } finally {
    await snapshot.release();
  }
});

test('a store, new or made before, gets snapshots/, tmp/ and rt/ marked as Orlov top dirs once', async (t) => {
  if (!(await flagSupported())) return t.pass('the filesystem has no T attribute');
  const root = fx.isolatedStateRoot();
  const trees = ['snapshots', 'tmp', 'rt'].map((d) => join(root, d));
  (await Store.open(root)).close();
  for (const d of trees) t.true(await topDir(d), d);
  t.false(await topDir(join(root, 'blobs')));
  // Stores from before the mark (user_version 0) and from before rt/ was marked (1).
  for (const version of [0, 1]) {
    await run('chattr', ['-T', ...trees]);
    const db = new Database(join(root, 'index.db'));
    db.pragma(`user_version = ${version}`);
    db.close();
    (await Store.open(root)).close();
    for (const d of trees) t.true(await topDir(d), `${d}, from user_version ${version}`);
  }
  // Marked once: a later open does not run chattr again.
  await run('chattr', ['-T', join(root, 'snapshots')]);
  (await Store.open(root)).close();
  t.false(await topDir(join(root, 'snapshots')));
});

test('a process that made snapshots leaves no scratch dir behind when it exits', async (t) => {
  const stateRoot = fx.isolatedStateRoot();
  const script = `
    import { createSnapshot } from './runtime/index.js';
    for (let i = 0; i < 3; i++) {
      const s = await createSnapshot({ stateRoot: ${JSON.stringify(stateRoot)}, lowerDirs: [${JSON.stringify(fx.base)}] });
      await s.release();
    }
    const { readdirSync } = await import('node:fs');
    console.log(readdirSync(${JSON.stringify(join(stateRoot, 'rt'))}).length);
  `;
  const { stdout } = await run(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { cwd: repoRoot });
  t.is(stdout.trim(), '1', 'the scratch dir stays while the process lives');
  t.deepEqual(await readdir(join(stateRoot, 'rt')), []);
});

test('an interrupted process removes its empty scratch dir before it dies', async (t) => {
  const stateRoot = fx.isolatedStateRoot();
  const rt = JSON.stringify(join(stateRoot, 'rt'));
  // What the CLI's signal handler does just before the process dies by the signal ('exit' never fires then).
  const script = `
    import { createSnapshot } from './runtime/index.js';
    import { runInterruptCleanups } from './common/interrupt.js';
    import { readdirSync } from 'node:fs';
    const s = await createSnapshot({ stateRoot: ${JSON.stringify(stateRoot)}, lowerDirs: [${JSON.stringify(fx.base)}] });
    await s.release();
    runInterruptCleanups();
    console.log(readdirSync(${rt}).length);
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = await run(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { cwd: repoRoot }).then(
    () => ({ stdout: '', killed: false }),
    (e: { stdout: string; signal?: string }) => ({ stdout: e.stdout, killed: e.signal === 'SIGKILL' }),
  );
  t.true(child.killed);
  t.is(child.stdout.trim(), '0');
  t.deepEqual(await readdir(join(stateRoot, 'rt')), []);
});
