/**
 * The sandbox of sandbox.test.ts, proven again for rootless kiln: an unprivileged user with a
 * subordinate id range runs the same escape attempts through `kiln run`, in containers inside
 * kiln's user namespace, and gets the same denials; the insecure entitlement still lifts them.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repo } from './build-helpers.js';
import { createUser, type TestUser } from './rootless-user.js';
import { ATTEMPTS, assertConfined, assertHostOutOfReach, buildProbe, CONFINED_SCRIPT, hostProbeScript, PTRACE_DENIED, PTRACE_SCRIPT, type ShResult } from './sandbox-attempts.js';

const run = promisify(execFile);
let user: TestUser;

test.before(async () => {
  user = await createUser({ subordinateIds: true });
  const rootfs = join(user.shared, 'rootfs');
  await run('bash', [join(repo, 'fixtures', 'make-busybox-rootfs.sh'), rootfs]);
  await buildProbe(repo, join(rootfs, 'bin', 'kiln-probe'));
  const tar = join(user.shared, 'probe.tar');
  await run('tar', ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '-C', rootfs, '-cf', tar, '.']);
  const imported = await user.kiln(['import', tar, 'probe:1']);
  if (imported.code !== 0) throw new Error(`kiln import as ${user.name} failed: ${imported.stderr}`);
});
test.after.always(async () => user?.remove());

async function sh(script: string, flags: string[] = []): Promise<ShResult> {
  const r = await user.kiln(['run', ...flags, 'probe:1', '/bin/sh', '-c', script]);
  return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
}

test('rootless, sandboxed: seccomp filter on; no mount, no new user or mount namespace, no write to /proc/sys or /sys, no keyring', async (t) => {
  assertConfined(t, await sh(CONFINED_SCRIPT));
});

test('rootless, insecure: a RUN with the entitlement mounts, unshares and reaches the keyring (the test above can fail)', async (t) => {
  const ctx = join(user.shared, 'insecure');
  await mkdir(ctx);
  await writeFile(join(ctx, 'attempts.sh'), `${ATTEMPTS}; umount /mnt; exit 0\n`);
  await writeFile(join(ctx, 'Dockerfile'), 'FROM probe:1\nCOPY attempts.sh /attempts.sh\nRUN --security=insecure sh /attempts.sh > /proof 2>&1\n');
  try {
    const built = await user.kiln(['build', '--allow', 'security.insecure', '-t', 'insecure:1', ctx]);
    t.is(built.code, 0, built.stderr);
    const r = await user.kiln(['run', 'insecure:1', 'cat', '/proof']);
    t.regex(r.stdout, /^Seccomp:\s+0$/m);
    for (const what of ['mount', 'unshare-user', 'unshare-mount']) t.regex(r.stdout, new RegExp(`^${what}=0$`, 'm'), what);
    t.regex(r.stdout, /in-userns/);
    t.regex(r.stdout, /^keyctl=ok$/m);
    // Unconfined, but still not root: the host's cgroups and /sys stay the host root's.
    t.regex(r.stdout, /^cgroup=[1-9]/m);
    t.regex(r.stdout, /^\/sys rw,/m);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
});

test('rootless: raw sockets only when NET_RAW is granted, and only in a network namespace of its own', async (t) => {
  t.is((await sh('kiln-probe raw')).stdout, 'raw=Operation not permitted\n');
  t.is((await sh('kiln-probe raw', ['--network', 'none'])).stdout, 'raw=Operation not permitted\n');
  t.is((await sh('kiln-probe raw', ['--cap-add', 'NET_RAW', '--network', 'none'])).stdout, 'raw=ok\n');
  // The host's network belongs to the host's user namespace: capabilities in kiln's do not count there.
  t.is((await sh('kiln-probe raw', ['--cap-add', 'NET_RAW'])).stdout, 'raw=Operation not permitted\n');
});

test('rootless: ptrace only of processes the caller could trace anyway: not of another user', async (t) => {
  t.is((await sh(PTRACE_SCRIPT)).stdout, PTRACE_DENIED);
});

test("rootless: the host's processes and files are out of reach", async (t) => {
  const marker = join('/tmp', `kiln-host-only-${process.pid}`);
  await writeFile(marker, 'host secret\n', { mode: 0o644 });
  try {
    assertHostOutOfReach(t, await sh(hostProbeScript(marker, process.pid)));
  } finally {
    await rm(marker, { force: true });
  }
});
