/**
 * Test helper: the escape attempts the sandbox tests make from inside a container, and what a
 * confined container must report, shared by the root (sandbox.test.ts) and rootless
 * (sandbox-rootless.test.ts) runs. The container's root needs busybox and test/sandbox-probe.c
 * built as /bin/kiln-probe.
 */
import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ShResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Builds test/sandbox-probe.c statically as `dest`: busybox has no applet issuing keyctl, add_key, ptrace or a raw socket(). */
export async function buildProbe(repoRoot: string, dest: string): Promise<void> {
  try {
    await run('gcc', ['-static', '-O1', '-o', dest, join(repoRoot, 'test', 'sandbox-probe.c')]);
  } catch (cause) {
    throw new Error('cannot build test/sandbox-probe.c: the sandbox tests need gcc and a static libc (apt-get install gcc libc6-dev)', { cause });
  }
}

/** What an escape needs, tried in ways that change nothing on the host even where they succeed. */
export const ATTEMPTS = [
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

/** ATTEMPTS plus writes to /proc/sys (a sysctl's own value back: a no-op even if it got through) and /sys. */
export const CONFINED_SCRIPT = `${ATTEMPTS}; f=/proc/sys/vm/overcommit_memory; cat $f > $f; echo proc-sys=$?; touch /sys/kiln-escape; echo sys=$?; exit 0`;

/** Seccomp on; no mount, no new user or mount namespace, no write to /proc/sys or /sys, no keyring. */
export function assertConfined(t: ExecutionContext, r: ShResult): void {
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
}

/** root without CAP_SYS_PTRACE on a nobody process, and nobody on root's shell (pid 1). */
export const PTRACE_SCRIPT = [
  'su -s /bin/sh nobody -c "exec sleep 30" & victim=$!',
  'sleep 0.2',
  'kiln-probe ptrace $victim',
  'su -s /bin/sh nobody -c "kiln-probe ptrace 1"',
  'kill $victim',
].join('; ');

export const PTRACE_DENIED = 'ptrace=Operation not permitted\nptrace=Operation not permitted\n';

/** Reads a file only the host has and looks at the host's processes; `pid` is a host process. */
export function hostProbeScript(marker: string, pid: number): string {
  return `cat ${marker}; echo cat=$?; ls /proc/${pid}/root; echo proc=$?; ps -o comm | sort -u | tr '\\n' ' '`;
}

export function assertHostOutOfReach(t: ExecutionContext, r: ShResult): void {
  t.regex(r.stdout, /^cat=1$/m);
  t.regex(r.stdout, /^proc=1$/m);
  t.notRegex(r.stdout, /node|runc/);
  t.notRegex(r.stdout, /host secret/);
}
