import test from 'ava';
import { getAttribute } from 'fs-xattr';
import { lstat, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createSnapshot, exec, type ExecOptions } from '../runtime/index.js';
import { makeFixture, sink, type Fixture } from './runtime-fixture.js';

let fx: Fixture;
process.env.KILN_TEST_TOKEN = 'sekrit';
test.before(async () => {
  fx = await makeFixture();
  // Lower-layer content the diff test changes.
  await writeFile(join(fx.base, 'etc', 'modify-me'), 'old\n');
  await writeFile(join(fx.base, 'etc', 'delete-me'), 'x\n');
  await mkdir(join(fx.base, 'gone', 'sub'), { recursive: true });
  await writeFile(join(fx.base, 'gone', 'sub', 'f'), 'x');
  await mkdir(join(fx.base, 'replaced'));
  await writeFile(join(fx.base, 'replaced', 'old'), 'x');
});
test.after.always(async () => fx?.dispose());

async function sh(script: string, extra: Partial<ExecOptions> = {}, container = false) {
  const snapshot = await createSnapshot({ stateRoot: fx.stateRoot, lowerDirs: [fx.base], container });
  const out = sink();
  const err = sink();
  try {
    const r = await exec({ stateRoot: fx.stateRoot, rootfs: snapshot.rootfs, args: ['/bin/sh', '-c', script], stdout: out.stream, stderr: err.stream, ...extra });
    return { ...r, stdout: out.text(), stderr: err.text(), snapshot };
  } catch (e) {
    await snapshot.release();
    throw e;
  }
}

test('the command is pid 1 and sees no host process', async (t) => {
  const r = await sh('echo $$; ls /proc | grep -E "^[0-9]+$" | wc -l; cat /proc/1/cmdline | tr "\\0" " "');
  await r.snapshot.release();
  const [pid, count, cmdline] = r.stdout.trim().split('\n');
  t.is(pid, '1');
  // sh itself, plus the ls/grep/wc pipeline at most.
  t.true(Number(count) <= 4, `saw ${count} processes`);
  t.is(cmdline!.trim(), '/bin/sh -c ' + 'echo $$; ls /proc | grep -E "^[0-9]+$" | wc -l; cat /proc/1/cmdline | tr "\\0" " "');
  t.is(r.exitCode, 0);
});

test('hostname is isolated', async (t) => {
  const before = hostname();
  // Like docker, changing it needs CAP_SYS_ADMIN, which the container does not have.
  const r = await sh('hostname; hostname changed-inside; echo set=$?', { hostname: 'kilnbox' });
  await r.snapshot.release();
  t.deepEqual(r.stdout.trim().split('\n'), ['kilnbox', 'set=1']);
  t.is(hostname(), before);
});

test('the container cannot mount and cannot write outside its rootfs', async (t) => {
  const marker = `kiln-escape-${process.pid}`;
  const r = await sh(`mount -t tmpfs none /tmp; echo mount=$?; echo x > /../../../tmp/${marker}; echo 1 > /proc/sysrq-trigger; echo sysrq=$?; exit 0`);
  try {
    t.regex(r.stdout, /mount=[1-9]/);
    t.regex(r.stdout, /sysrq=[1-9]/);
    // The escape attempt landed inside the container's own /tmp, i.e. in the snapshot.
    await t.throwsAsync(stat(join('/tmp', marker)));
    t.is(await readFile(join(r.snapshot.upperDir, 'tmp', marker), 'utf8'), 'x\n');
  } finally {
    await r.snapshot.release();
  }
});

test('default capabilities, masked and read-only paths, no new privileges', async (t) => {
  const r = await sh('grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; cat /proc/keys | wc -c; echo 1 > /proc/sys/vm/overcommit_memory; echo ro=$?');
  await r.snapshot.release();
  // Docker's 14 default capabilities less NET_RAW.
  t.regex(r.stdout, /CapEff:\s+00000000a80405fb/);
  t.regex(r.stdout, /NoNewPrivs:\s+1/);
  t.regex(r.stdout, /^0$/m);
  t.regex(r.stdout, /ro=[1-9]/);
  t.regex(r.stderr, /Read-only file system/);
});

test('files are created as the requested user', async (t) => {
  const snapshot = await createSnapshot({ stateRoot: fx.stateRoot, lowerDirs: [fx.base] });
  try {
    const out = sink();
    await exec({ stateRoot: fx.stateRoot, rootfs: snapshot.rootfs, args: ['sh', '-c', 'id; touch /tmp/by-nobody'], user: 'nobody', stdout: out.stream });
    await exec({ stateRoot: fx.stateRoot, rootfs: snapshot.rootfs, args: ['sh', '-c', 'id; touch /tmp/by-numeric'], user: '1234:4321', stdout: out.stream });
    await exec({ stateRoot: fx.stateRoot, rootfs: snapshot.rootfs, args: ['sh', '-c', 'id; touch /tmp/by-mixed'], user: 'nobody:root', stdout: out.stream });
    const [a, b, c] = out.text().trim().split('\n');
    // The primary group is a supplementary one too (CVE-2023-25173), as BuildKit's RUN shows it.
    t.is(a, 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)');
    t.regex(b!, /^uid=1234 gid=4321/);
    t.regex(c!, /^uid=65534\(nobody\) gid=0\(root\)/);
    const owner = async (f: string) => {
      const s = await stat(join(snapshot.upperDir, 'tmp', f));
      return [s.uid, s.gid];
    };
    t.deepEqual(await owner('by-nobody'), [65534, 65534]);
    t.deepEqual(await owner('by-numeric'), [1234, 4321]);
    t.deepEqual(await owner('by-mixed'), [65534, 0]);
    await t.throwsAsync(exec({ stateRoot: fx.stateRoot, rootfs: snapshot.rootfs, args: ['true'], user: 'nosuchuser' }), { message: /unable to find user nosuchuser/ });
  } finally {
    await snapshot.release();
  }
});

test('the upper dir holds exactly what the command changed', async (t) => {
  const r = await sh('echo new > /new-file; echo changed > /etc/modify-me; rm /etc/delete-me; rm -rf /gone; rm -rf /replaced && mkdir /replaced && echo n > /replaced/new');
  try {
    t.is(r.exitCode, 0);
    const entries = await walk(r.snapshot.upperDir);
    const changed = new Map<string, string>();
    for (const [path, kind] of entries) {
      if (kind !== 'dir') {
        changed.set(path, kind);
        continue;
      }
      const opaque = await getAttribute(join(r.snapshot.upperDir, path), 'trusted.overlay.opaque').then(
        (v) => v.toString(),
        () => undefined,
      );
      if (opaque === 'y') changed.set(path, 'opaque');
      else if (!(await sameDir(join(fx.base, path), join(r.snapshot.upperDir, path)))) changed.set(path, 'dir');
    }
    t.deepEqual(Object.fromEntries([...changed].sort()), {
      'etc/delete-me': 'whiteout',
      'etc/modify-me': 'file',
      gone: 'whiteout',
      'new-file': 'file',
      replaced: 'opaque',
      'replaced/new': 'file',
      // / and /etc changed (entries added and removed), as they would in docker.
      '': 'dir',
      etc: 'dir',
    });
    t.is(await readFile(join(r.snapshot.upperDir, 'etc', 'modify-me'), 'utf8'), 'changed\n');
  } finally {
    await r.snapshot.release();
  }
});

test('no mount-point stubs reach the diff', async (t) => {
  const r = await sh('cat /run/secrets/tok; echo; ls /etc/hosts /etc/resolv.conf', {
    mounts: [
      { type: 'secret', id: 'tok', required: true },
      { type: 'tmpfs', target: '/deep/new/dir' },
    ],
    secrets: new Map([['tok', { id: 'tok', env: 'KILN_TEST_TOKEN' }]]),
  });
  try {
    t.is(r.stdout.split('\n')[0], 'sekrit');
    const top = await readdir(r.snapshot.upperDir);
    t.deepEqual(top.filter((n: string) => n !== 'etc'), []);
    // /etc only shows up copied, unchanged (hosts and resolv.conf stubs removed, times restored).
    if (top.includes('etc')) {
      t.deepEqual(await readdir(join(r.snapshot.upperDir, 'etc')), []);
      t.true(await sameDir(join(fx.base, 'etc'), join(r.snapshot.upperDir, 'etc')));
    }
  } finally {
    await r.snapshot.release();
  }
});

test("a container snapshot has runc's mount points beneath the image: nothing of them reaches the diff, not even /etc", async (t) => {
  await rm(join(fx.base, 'etc', 'hosts'), { force: true });
  const r = await sh('ls -l /etc/hosts /etc/resolv.conf && grep -q localhost /etc/hosts && cat /etc/modify-me', {}, true);
  try {
    t.is(r.exitCode, 0, r.stderr);
    t.is(r.stdout.split('\n').at(-2), 'old', 'the image\'s own /etc is there too');
    t.deepEqual(await readdir(r.snapshot.upperDir), []);
  } finally {
    await r.snapshot.release();
  }
});

test('exit codes, stdin and stdout are passed through', async (t) => {
  const snapshot = await createSnapshot({ stateRoot: fx.stateRoot, lowerDirs: [fx.base] });
  try {
    const out = sink();
    const r = await exec({ stateRoot: fx.stateRoot, rootfs: snapshot.rootfs, args: ['sh', '-c', 'tr a-z A-Z; exit 42'], stdin: Readable.from(['hello from stdin\n']), stdout: out.stream });
    t.is(r.exitCode, 42);
    t.is(out.text(), 'HELLO FROM STDIN\n');
    const missing = await exec({ stateRoot: fx.stateRoot, rootfs: snapshot.rootfs, args: ['/no/such/binary'] }).catch((e) => e);
    t.is(missing.code, 'E_RUNTIME_START');
    t.is(missing.exitCode, 127);
  } finally {
    await snapshot.release();
  }
});

test('network none has only loopback; host sees the host interfaces', async (t) => {
  const none = await sh('ls /sys/class/net', { network: 'none' });
  await none.snapshot.release();
  t.is(none.stdout.trim(), 'lo');
  const host = await sh('ls /sys/class/net', { network: 'host' });
  await host.snapshot.release();
  t.deepEqual(host.stdout.trim().split('\n').sort(), (await readdir('/sys/class/net')).sort());
});

test('a timeout and an abort kill the container, not just runc', async (t) => {
  // A state root of its own: the runc state checked below must not hold the containers of the
  // other tests of this file, which run concurrently.
  const stateRoot = fx.isolatedStateRoot();
  const snapshot = await createSnapshot({ stateRoot, lowerDirs: [fx.base] });
  try {
    const started = Date.now();
    const timedOut = await exec({ stateRoot, rootfs: snapshot.rootfs, args: ['sh', '-c', 'sleep 1000 & sleep 1000'], timeoutMs: 300 }).catch((e) => e);
    t.is(timedOut.code, 'E_RUNTIME_TIMEOUT');
    // Killed, not waited out: sleep would take 1000 s. When the timeout fires while runc is still
    // creating the container, the kill waits until it exists, which on a loaded CI machine takes
    // seconds, so the bound is far from 300 ms and far from 1000 s.
    t.true(Date.now() - started < 60_000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const aborted = await exec({ stateRoot, rootfs: snapshot.rootfs, args: ['sleep', '1000'], signal: ac.signal }).catch((e) => e);
    t.is(aborted.code, 'E_RUNTIME_ABORTED');
    // An abort while exec is still preparing the container (its first awaits settle at once, so
    // the timer fires during the bundle setup) must not let the command start and run to its end.
    const early = new AbortController();
    setTimeout(() => early.abort(), 1);
    const abortedEarly = await exec({ stateRoot, rootfs: snapshot.rootfs, args: ['sleep', '30'], signal: early.signal }).catch((e) => e);
    t.is(abortedEarly.code, 'E_RUNTIME_ABORTED');
    // Nothing of either container survives: no sleep process that runs in our snapshot.
    const procs = await readdir('/proc');
    for (const p of procs.filter((n) => /^\d+$/.test(n))) {
      const root = await import('node:fs/promises').then((fs) => fs.readlink(`/proc/${p}/root`)).catch(() => '');
      t.false(root.startsWith(snapshot.rootfs), `process ${p} still runs in the snapshot`);
    }
    t.deepEqual(await readdir(join(stateRoot, 'runc')).catch(() => []), []);
  } finally {
    await snapshot.release();
  }
});

test('release unmounts and removes the snapshot; keepUpper moves the diff out', async (t) => {
  const s1 = await createSnapshot({ stateRoot: fx.stateRoot, lowerDirs: [fx.base] });
  await s1.release();
  await t.throwsAsync(stat(s1.upperDir));
  t.false((await readFile('/proc/self/mountinfo', 'utf8')).includes(s1.rootfs));

  const s2 = await createSnapshot({ stateRoot: fx.stateRoot, lowerDirs: [fx.base] });
  await exec({ stateRoot: fx.stateRoot, rootfs: s2.rootfs, args: ['sh', '-c', 'echo kept > /kept'] });
  const dest = join(fx.stateRoot, 'kept-layer');
  await s2.keepUpper(dest);
  t.is(await readFile(join(dest, 'kept'), 'utf8'), 'kept\n');
  // The kept diff works as a lower layer on top of the base.
  const s3 = await createSnapshot({ stateRoot: fx.stateRoot, lowerDirs: [fx.base, dest] });
  const out = sink();
  await exec({ stateRoot: fx.stateRoot, rootfs: s3.rootfs, args: ['sh', '-c', 'cat /kept; ls /bin/busybox'], stdout: out.stream });
  await s3.release();
  t.is(out.text(), 'kept\n/bin/busybox\n');
  await rm(dest, { recursive: true });
});

type Kind = 'dir' | 'file' | 'whiteout' | 'symlink' | 'other';

async function walk(root: string, rel = ''): Promise<[string, Kind][]> {
  const out: [string, Kind][] = [[rel, 'dir']];
  for (const name of await readdir(join(root, rel))) {
    const path = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(root, path));
    if (st.isDirectory()) out.push(...(await walk(root, path)));
    else if (st.isCharacterDevice() && st.rdev === 0) out.push([path, 'whiteout']);
    else out.push([path, st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other']);
  }
  return out;
}

async function sameDir(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([stat(a), stat(b)]);
  return x.mode === y.mode && x.uid === y.uid && x.gid === y.gid && x.mtimeMs === y.mtimeMs;
}
