import test from 'ava';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createSnapshot, exec, parseSecretFlag, type ExecOptions, type RuntimeMount } from '../runtime/index.js';
import { makeFixture, sink, type Fixture } from './runtime-fixture.js';

let fx: Fixture;
test.before(async () => {
  fx = await makeFixture();
});
test.after.always(async () => fx?.dispose());

async function inSnapshot(script: string, mounts: RuntimeMount[], extra: Partial<ExecOptions> = {}) {
  const stateRoot = extra.stateRoot ?? fx.stateRoot;
  const snapshot = await createSnapshot({ stateRoot, lowerDirs: [fx.base] });
  const out = sink();
  const err = sink();
  try {
    const r = await exec({ stateRoot, rootfs: snapshot.rootfs, args: ['sh', '-c', script], mounts, stdout: out.stream, stderr: err.stream, ...extra });
    return { exitCode: r.exitCode, stdout: out.text(), stderr: err.text(), upper: await listTree(snapshot.upperDir), snapshot };
  } catch (e) {
    await snapshot.release();
    throw e;
  }
}

test('a secret is readable in the step and absent from the layer and from every file kiln keeps', async (t) => {
  const secretValue = `s3cr3t-${process.pid}-${Date.now()}`;
  const src = join(fx.dir, 'secret.txt');
  await writeFile(src, secretValue);
  const secrets = new Map([['mytoken', parseSecretFlag(`id=mytoken,src=${src}`)]]);
  // A state root of its own: the walk below must see every file kiln keeps for this step, and
  // the other tests of this file, running concurrently, create and remove snapshots meanwhile.
  const stateRoot = fx.isolatedStateRoot();
  const r = await inSnapshot('cat /run/secrets/mytoken; echo; cat /custom/place; echo; cp /run/secrets/mytoken /tmp/copy 2>/dev/null; ls -l /run/secrets/mytoken', [
    { type: 'secret', id: 'mytoken', required: true },
    { type: 'secret', id: 'mytoken', target: '/custom/place', mode: 0o440, uid: 65534 },
  ], { secrets, stateRoot });
  try {
    const lines = r.stdout.split('\n');
    t.is(lines[0], secretValue);
    t.is(lines[1], secretValue);
    t.regex(lines[2]!, /^-r--------\s+1 root\s+root/);
    // The only trace in the diff is the step's own explicit copy; no mount point, no secret file.
    t.deepEqual(r.upper.filter((p) => !p.startsWith('etc')), ['tmp', 'tmp/copy']);
    // Nothing in the state root (bundles, runc state, logs) holds the value once the step is over.
    t.deepEqual(await grepTree(stateRoot, secretValue, [dirname(r.snapshot.upperDir)]), []);
  } finally {
    await r.snapshot.release();
  }
});

test('a missing required secret is a clear error; an optional one is skipped', async (t) => {
  const err = await inSnapshot('true', [{ type: 'secret', id: 'nope', required: true }]).catch((e) => e);
  t.is(err.code, 'E_RUNTIME_SECRET_MISSING');
  const r = await inSnapshot('test -e /run/secrets/nope; echo $?', [{ type: 'secret', id: 'nope' }]);
  await r.snapshot.release();
  t.is(r.stdout.trim(), '1');
});

test('a cache mount persists across runs, with uid/gid/mode on creation, and stays out of the layer', async (t) => {
  const cache: RuntimeMount = { type: 'cache', id: 'persist', target: '/var/cache/app', uid: 65534, gid: 65534, mode: 0o750 };
  const first = await inSnapshot('stat -c "%u:%g %a" /var/cache/app; echo one >> /var/cache/app/log', [cache]);
  await first.snapshot.release();
  t.is(first.stdout.trim(), '65534:65534 750');
  t.false(first.upper.some((p) => p.startsWith('var/cache/app/')));
  const second = await inSnapshot('echo two >> /var/cache/app/log; cat /var/cache/app/log', [cache]);
  await second.snapshot.release();
  t.is(second.stdout, 'one\ntwo\n');
});

test('sharing=locked serialises two concurrent users; private gives each its own directory', async (t) => {
  const locked: RuntimeMount = { type: 'cache', id: 'locked', target: '/c', sharing: 'locked' };
  const script = 'echo start >> /c/log; sleep 0.4; echo end >> /c/log';
  const runs = await Promise.all([inSnapshot(script, [locked]), inSnapshot(script, [locked])]);
  await Promise.all(runs.map((r) => r.snapshot.release()));
  const check = await inSnapshot('cat /c/log', [locked]);
  await check.snapshot.release();
  t.is(check.stdout, 'start\nend\nstart\nend\n');

  const priv: RuntimeMount = { type: 'cache', id: 'private', target: '/c', sharing: 'private' };
  const both = await Promise.all([inSnapshot('ls /c | wc -l; touch /c/mine-$$-$RANDOM; sleep 0.4', [priv]), inSnapshot('ls /c | wc -l; touch /c/mine-$$-$RANDOM; sleep 0.4', [priv])]);
  await Promise.all(both.map((r) => r.snapshot.release()));
  t.deepEqual(both.map((r) => r.stdout.trim()), ['0', '0']);
});

test('bind mounts are read-only by default; a read-write bind never changes its source', async (t) => {
  const src = join(fx.dir, 'ctx');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'file'), 'original');
  const ro = await inSnapshot('cat /ctx/file; echo x > /ctx/file; echo rc=$?', [{ type: 'bind', source: src, target: '/ctx', readonly: true }]);
  await ro.snapshot.release();
  t.regex(ro.stdout, /^original/);
  t.regex(ro.stdout, /rc=[1-9]/);
  const rw = await inSnapshot('echo changed > /ctx/file; echo new > /ctx/new; cat /ctx/file', [{ type: 'bind', source: src, target: '/ctx', readonly: false, discardWrites: true }]);
  await rw.snapshot.release();
  t.is(rw.stdout, 'changed\n');
  t.is(await readFile(join(src, 'file'), 'utf8'), 'original');
  t.deepEqual(await readdir(src), ['file']);
});

test('tmpfs mounts are empty, writable and not in the layer; ssh mounts say they are not supported', async (t) => {
  const r = await inSnapshot('ls -A /scratch | wc -l; echo x > /scratch/f; grep " /scratch " /proc/mounts | cut -d" " -f3', [{ type: 'tmpfs', target: '/scratch' }]);
  await r.snapshot.release();
  t.deepEqual(r.stdout.trim().split('\n'), ['0', 'tmpfs']);
  t.false(r.upper.some((p) => p.startsWith('scratch')));
  const err = await inSnapshot('true', [{ type: 'ssh' }]).catch((e) => e);
  t.is(err.code, 'E_RUNTIME_SSH_UNSUPPORTED');
  t.regex(err.message, /not supported yet/);
});

async function listTree(root: string): Promise<string[]> {
  return ((await readdir(root, { recursive: true })) as string[]).sort();
}

async function grepTree(root: string, needle: string, skip: string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const rel of (await readdir(root, { recursive: true, withFileTypes: true })) as import('node:fs').Dirent[]) {
    const path = join(rel.parentPath ?? rel.path, rel.name);
    if (!rel.isFile() || skip.some((s) => path.startsWith(s))) continue;
    if ((await readFile(path)).includes(needle)) hits.push(path);
  }
  return hits;
}
