import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildSpec, cleanupLeftovers, cleanupLeftoversNow, createSnapshot, exec, type ResolvedUser } from '../runtime/index.js';
import { cleanupLeftoversOnce } from '../runtime/cleanup.js';
import { makeFixture, type Fixture } from './runtime-fixture.js';

const target = join(dirname(fileURLToPath(import.meta.url)), 'runtime-kill-target.ts');
let fx: Fixture;
test.before(async () => {
  fx = await makeFixture();
});
test.after.always(async () => fx?.dispose());

function node(args: string[]) {
  return spawn(process.execPath, ['--import', import.meta.resolve('tsx'), target, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Starts a kiln process that runs a container with a cache mount (`locked` or `private`). */
function startKiln(stateRoot: string, sharing: 'locked' | 'private') {
  const child = node(['run', stateRoot, fx.base, sharing]);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  // 'exit', not 'close': an orphaned container may hold the stdout pipe open.
  const done = new Promise((resolve) => child.on('exit', resolve));
  return {
    /** Waits until the process printed `text`, or died trying. */
    async reached(text: string) {
      while (!out.includes(text) && child.exitCode === null && child.signalCode === null) await sleep(5);
    },
    /** SIGKILLs it; resolves with what it got to print. */
    async kill() {
      child.kill('SIGKILL');
      await done;
      return out;
    },
  };
}

/** Starts a kiln process and SIGKILLs it after a random delay; resolves with what it got to print. */
async function runAndKill(stateRoot: string): Promise<string> {
  const kiln = startKiln(stateRoot, 'locked');
  // Wait for the snapshot to exist half the time, so kills land both early and mid-run.
  if (Math.random() < 0.5) await kiln.reached('mounted');
  await sleep(Math.random() * 1500);
  return kiln.kill();
}

/**
 * Starts `count` kiln processes and SIGKILLs them all with their containers running. A kiln
 * process removes dead ones' leftovers when it starts, so none is killed before every one of
 * them has started its container, or a slow starter would clean up after a fast one.
 */
async function runAllAndKill(stateRoot: string, count: number): Promise<string[]> {
  const all = Array.from({ length: count }, () => startKiln(stateRoot, 'private'));
  await Promise.all(all.map((kiln) => kiln.reached('started')));
  await sleep(Math.random() * 200);
  return Promise.all(all.map((kiln) => kiln.kill()));
}

async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(dir));
}

async function processesIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const p of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    const root = await readlink(`/proc/${p}/root`).catch(() => '');
    if (root.startsWith(dir)) found.push(p);
  }
  return found;
}

// The two tests run concurrently, so each has a state root of its own: neither cleanup may see
// the other test's snapshots and containers.
test('a new kiln process removes every mount and container left by 20 SIGKILLed ones', async (t) => {
  const stateRoot = fx.isolatedStateRoot();
  const kill = () => runAndKill(stateRoot);
  const outputs: string[] = [];
  for (let batch = 0; batch < 4; batch++) outputs.push(...(await Promise.all([kill(), kill(), kill(), kill()])));
  // Each new process already cleans up after the earlier ones; the last batch is killed with its
  // containers surely running, so the final cleanup has containers to remove too.
  outputs.push(...(await runAllAndKill(stateRoot, 4)));
  t.is(outputs.length, 20);
  const leftMounts = await mountsUnder(stateRoot);
  const leftContainers = await readdir(join(stateRoot, 'runc')).catch(() => []);
  t.log(`killed: ${outputs.filter((o) => o.includes('started')).length} while running, ${leftMounts.length} mounts and ${leftContainers.length} containers left`);
  // The test means something only if the kills left real debris behind.
  t.true(leftMounts.length >= 4);
  t.true(leftContainers.length >= 4);

  const cleaner = node(['cleanup', stateRoot]);
  let report = '';
  cleaner.stdout.setEncoding('utf8').on('data', (d: string) => (report += d));
  t.is(await new Promise((resolve) => cleaner.on('close', resolve)), 0);
  t.log(report);

  t.deepEqual(await mountsUnder(stateRoot), []);
  t.deepEqual(await readdir(join(stateRoot, 'runc')).catch(() => []), []);
  t.deepEqual(await processesIn(stateRoot), []);
  t.deepEqual(await readdir(join(stateRoot, 'rt')), []);

  // The locked cache mount a killed process held is usable again.
  const snapshot = await createSnapshot({ stateRoot, lowerDirs: [fx.base] });
  try {
    const r = await exec({ stateRoot, rootfs: snapshot.rootfs, args: ['true'], mounts: [{ type: 'cache', id: 'killed', target: '/c', sharing: 'locked' }], timeoutMs: 20_000 });
    t.is(r.exitCode, 0);
  } finally {
    await snapshot.release();
  }
});

test('cleanup leaves the snapshots and containers of a live process alone', async (t) => {
  const stateRoot = fx.isolatedStateRoot();
  const snapshot = await createSnapshot({ stateRoot, lowerDirs: [fx.base] });
  const ac = new AbortController();
  const running = exec({ stateRoot, rootfs: snapshot.rootfs, args: ['sleep', '60'], signal: ac.signal }).catch((e) => e);
  try {
    while ((await readdir(join(stateRoot, 'runc')).catch(() => [])).length === 0) await sleep(20);
    const cleaner = node(['cleanup', stateRoot]);
    let report = '';
    cleaner.stdout.setEncoding('utf8').on('data', (d: string) => (report += d));
    await new Promise((resolve) => cleaner.on('close', resolve));
    t.deepEqual(JSON.parse(report), { containers: [], mounts: [], dirs: [] });
    t.is((await mountsUnder(snapshot.rootfs)).length, 1);
  } finally {
    ac.abort();
    t.is((await running).code, 'E_RUNTIME_ABORTED');
    await snapshot.release();
  }
});

test('the cleanup a build starts with is the startup cleanup its first snapshot would run, not a second survey', async (t) => {
  const stateRoot = fx.isolatedStateRoot();
  const before = cleanupLeftoversNow(stateRoot);
  t.is(cleanupLeftoversOnce(stateRoot), before);
  await before;
  const again = cleanupLeftoversNow(stateRoot);
  t.not(again, before, 'each build cleans up again (a daemon outlives the processes it cleans up after)');
  t.is(cleanupLeftoversOnce(stateRoot), again);
  await again;
});

test("cleanup waits for a dead kiln's mount helper, whose last mount can land after kiln died", async (t) => {
  const stateRoot = fx.isolatedStateRoot();
  // A dead owner (pid 1 never has this start time) whose helper shell is still finishing a mount.
  const owner = join(stateRoot, 'rt', '1-1');
  const mountpoint = join(owner, 'sdead', 'm');
  await mkdir(mountpoint, { recursive: true });
  const helper = spawn('/bin/sh', ['-s', 'kiln-mount-helper', '1-1'], { stdio: ['pipe', 'ignore', 'ignore'] });
  helper.stdin.end(`sleep 0.5; mount -t tmpfs kiln-test ${mountpoint}\n`);
  const exited = new Promise((resolve) => helper.on('exit', resolve));
  const report = await cleanupLeftovers(stateRoot);
  t.not(helper.exitCode, null, 'cleanup returned only once the helper had finished');
  await exited;
  t.deepEqual(report.mounts, [mountpoint]);
  t.deepEqual(await mountsUnder(stateRoot), []);
  t.deepEqual(await readdir(join(stateRoot, 'rt')), []);
});

test("cleanup ends a dead kiln's container that runc is still running, and waits for that runc", async (t) => {
  const stateRoot = fx.isolatedStateRoot();
  const snapshot = await createSnapshot({ stateRoot, lowerDirs: [fx.base], container: true });
  // A dead owner (pid 1 never has this start time) whose `runc run` goes on without it.
  const bundle = join(stateRoot, 'rt', '1-1', 'kiln-orphan0001');
  await mkdir(bundle, { recursive: true });
  const spec = buildSpec({
    rootfs: snapshot.rootfs,
    args: ['sleep', '60'],
    env: [],
    cwd: '/',
    user: { uid: 0, gid: 0, additionalGids: [], home: '/root' } as ResolvedUser,
    hostname: 'orphan',
    network: 'host',
    hostsFile: '/etc/hosts',
    resolvConfFile: '/etc/resolv.conf',
    mounts: [],
  });
  await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
  const runcRoot = join(stateRoot, 'runc');
  const runc = spawn('runc', ['--root', runcRoot, '--log', join(bundle, 'runc.log'), 'run', '--bundle', bundle, 'kiln-orphan0001'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => runc.on('exit', resolve));
  try {
    while (!(await readdir(runcRoot).catch((): string[] => [])).includes('kiln-orphan0001')) await sleep(20);
    const report = await cleanupLeftovers(stateRoot);
    t.not(runc.exitCode ?? runc.signalCode, null, 'cleanup returned once the orphaned runc had ended');
    t.deepEqual(report.containers, ['kiln-orphan0001']);
    t.deepEqual(await readdir(runcRoot), []);
    t.deepEqual(await readdir(join(stateRoot, 'rt')).then((owners) => owners.filter((o) => o === '1-1')), []);
  } finally {
    runc.kill('SIGKILL');
    await exited;
    await snapshot.release();
  }
});
