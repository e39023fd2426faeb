/**
 * The sandbox, proven from inside real runc containers on the busybox fixture: what a container
 * must not be able to do, and that the insecure mode (and --cap-add) really lift it.
 */
import test from 'ava';
import { writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createSnapshot, exec, type ExecOptions } from '../runtime/index.js';
import { makeFixture, repoRoot, sink, type Fixture } from './runtime-fixture.js';
import { ATTEMPTS, assertConfined, assertHostOutOfReach, buildProbe, CONFINED_SCRIPT, hostProbeScript, PTRACE_DENIED, PTRACE_SCRIPT } from './sandbox-attempts.js';

let fx: Fixture;

test.before(async () => {
  fx = await makeFixture();
  await buildProbe(repoRoot, join(fx.base, 'bin', 'kiln-probe'));
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

test('sandboxed: seccomp filter on; no mount, no new user or mount namespace, no write to /proc/sys or /sys, no keyring', async (t) => {
  assertConfined(t, await sh(CONFINED_SCRIPT));
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
  const r = await sh(PTRACE_SCRIPT);
  t.is(r.stdout, PTRACE_DENIED);
  const insecure = await sh(PTRACE_SCRIPT, { security: 'insecure' });
  t.regex(insecure.stdout, /^ptrace=ok\n/);
});

test("the host's processes and files are out of reach", async (t) => {
  const marker = join('/tmp', `kiln-host-only-${process.pid}`);
  await writeFile(marker, 'host secret\n');
  try {
    assertHostOutOfReach(t, await sh(hostProbeScript(marker, process.pid)));
  } finally {
    await rm(marker, { force: true });
  }
});
