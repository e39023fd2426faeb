/**
 * The sandbox, proven from inside real runc containers on the busybox fixture: what a container
 * must not be able to do, and that the insecure mode (and --cap-add) really lift it.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createSnapshot, exec, type ExecOptions } from '../runtime/index.js';
import { makeFixture, repoRoot, sink, type Fixture } from './runtime-fixture.js';

const run = promisify(execFile);
let fx: Fixture;

test.before(async () => {
  fx = await makeFixture();
  // busybox has no applet issuing keyctl, add_key, ptrace or a raw socket().
  try {
    await run('gcc', ['-static', '-O1', '-o', join(fx.base, 'bin', 'kiln-probe'), join(repoRoot, 'test', 'sandbox-probe.c')]);
  } catch (cause) {
    throw new Error('cannot build test/sandbox-probe.c: the sandbox tests need gcc and a static libc (apt-get install gcc libc6-dev)', { cause });
  }
});
test.after.always(async () => fx?.dispose());

async function sh(script: string, extra: Partial<ExecOptions> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const snapshot = await createSnapshot({ stateRoot: fx.stateRoot, lowerDirs: [fx.base] });
  const out = sink();
  const err = sink();
  try {
    const r = await exec({ stateRoot: fx.stateRoot, rootfs: snapshot.rootfs, args: ['/bin/sh', '-c', script], stdout: out.stream, stderr: err.stream, ...extra });
    return { exitCode: r.exitCode, stdout: out.text(), stderr: err.text() };
  } finally {
    await snapshot.release();
  }
}

/** What an escape needs, tried in ways that change nothing on the host even where they succeed. */
const ATTEMPTS = [
  'grep "^Seccomp:" /proc/self/status',
  'mkdir -p /mnt; mount -t tmpfs none /mnt; echo mount=$?',
  'unshare -U sh -c "echo in-userns"; echo unshare-user=$?',
  'unshare -m true; echo unshare-mount=$?',
  'unshare -r true; echo unshare-root=$?',
  // a real cgroup hierarchy (under v1, /sys/fs/cgroup itself is the container's own tmpfs)
  'cg=$(grep -E " - cgroup2? " /proc/self/mountinfo | head -1 | cut -d" " -f5)',
  'mkdir "$cg/kiln-escape"; echo cgroup=$?',
  'kiln-probe keyctl',
  'grep -E " /(proc/sys|sys) " /proc/self/mountinfo | cut -d" " -f5,6',
].join('; ');

test('sandboxed: seccomp filter on; no mount, no new user or mount namespace, no write to /proc/sys or /sys, no keyring', async (t) => {
  // Writing a sysctl's own value back: a no-op even if it got through.
  const r = await sh(`${ATTEMPTS}; f=/proc/sys/vm/overcommit_memory; cat $f > $f; echo proc-sys=$?; touch /sys/kiln-escape; echo sys=$?; exit 0`);
  t.is(r.exitCode, 0);
  t.regex(r.stdout, /^Seccomp:\s+2$/m);
  for (const what of ['mount', 'unshare-user', 'unshare-mount', 'unshare-root', 'cgroup', 'proc-sys', 'sys']) t.regex(r.stdout, new RegExp(`^${what}=[1-9]`, 'm'), what);
  t.regex(r.stderr, /mount: permission denied/);
  t.regex(r.stderr, /unshare\(0x10000000\): Operation not permitted/);
  t.notRegex(r.stdout, /in-userns/);
  t.regex(r.stdout, /^keyctl=Operation not permitted$/m);
  t.regex(r.stdout, /^add_key=Operation not permitted$/m);
  t.regex(r.stdout, /^\/sys ro,/m);
  t.regex(r.stdout, /^\/proc\/sys ro,/m);
  t.regex(r.stderr, /overcommit_memory: Read-only file system/);
  t.regex(r.stderr, /kiln-escape': Read-only file system/);
});

test('insecure: the same attempts succeed (the test above can fail)', async (t) => {
  // (A cgroup left behind would keep runc from removing the container's own.)
  const r = await sh(`${ATTEMPTS}; umount /mnt; rmdir "$cg/kiln-escape"; exit 0`, { security: 'insecure' });
  t.regex(r.stdout, /^Seccomp:\s+0$/m);
  for (const what of ['mount', 'unshare-user', 'unshare-mount', 'cgroup']) t.regex(r.stdout, new RegExp(`^${what}=0$`, 'm'), what);
  t.regex(r.stdout, /in-userns/);
  t.regex(r.stdout, /^keyctl=ok$/m);
  t.regex(r.stdout, /^\/sys rw,/m);
  t.notRegex(r.stdout, /^\/proc\/sys /m);
});

test('raw sockets only when NET_RAW is granted', async (t) => {
  const denied = await sh('kiln-probe raw');
  t.is(denied.stdout, 'raw=Operation not permitted\n');
  const granted = await sh('kiln-probe raw', { capAdd: ['CAP_NET_RAW'] });
  t.is(granted.stdout, 'raw=ok\n');
});

test('ptrace only of processes the caller could trace anyway: not of another user', async (t) => {
  const script = [
    'su -s /bin/sh nobody -c "exec sleep 30" & victim=$!',
    'sleep 0.2',
    // root without CAP_SYS_PTRACE on a nobody process, and nobody on root's shell (pid 1)
    'kiln-probe ptrace $victim',
    'su -s /bin/sh nobody -c "kiln-probe ptrace 1"',
    'kill $victim',
  ].join('; ');
  const r = await sh(script);
  t.is(r.stdout, 'ptrace=Operation not permitted\nptrace=Operation not permitted\n');
  const insecure = await sh(script, { security: 'insecure' });
  t.regex(insecure.stdout, /^ptrace=ok\n/);
});

test("the host's processes and files are out of reach", async (t) => {
  const marker = join('/tmp', `kiln-host-only-${process.pid}`);
  await writeFile(marker, 'host secret\n');
  try {
    const r = await sh(`cat ${marker}; echo cat=$?; ls /proc/${process.pid}/root; echo proc=$?; ps -o comm | sort -u | tr '\\n' ' '`);
    t.regex(r.stdout, /^cat=1$/m);
    t.regex(r.stdout, /^proc=1$/m);
    t.notRegex(r.stdout, /node|runc/);
    t.notRegex(r.stdout, /host secret/);
  } finally {
    await rm(marker, { force: true });
  }
});
