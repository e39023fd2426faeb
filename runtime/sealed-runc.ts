import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { inUserNamespace } from '../common/user-namespace.js';
import { findProgram } from './find-program.js';

/**
 * runc 1.1 guards against CVE-2019-5736 (a container overwriting the host's runc through
 * /proc/self/exe) by copying its own ~10 MB binary into a memfd and running `runc init` again
 * from the copy, at every container start, unless it already runs from a sealed memfd
 * (`is_self_cloned` in runc's nsexec.c, which names this use: a sealed copy made once and
 * shared). Node cannot make a memfd, so a small perl process makes one per kiln process, copies
 * runc into it, seals it against any write and holds it open; `runc run` is then exec'd from
 * /proc/PID/fd/N. Measured on S5 (30 RUN steps): 0.3-2.35 ms less per container in three sets
 * of alternating pairs (bench/build/README.md). perl is in every Debian and Ubuntu (perl-base is
 * essential); without it, or on an architecture not listed below, runc runs from its own file.
 */

/** The syscall numbers of memfd_create and sendfile by Node's architecture name. */
const SYSCALLS: Partial<Record<NodeJS.Architecture, { memfdCreate: number; sendfile: number }>> = {
  x64: { memfdCreate: 319, sendfile: 40 },
  arm64: { memfdCreate: 279, sendfile: 71 },
};

/**
 * Makes the sealed copy of the file given (sendfile copies it in the kernel: ~3 ms less than
 * through perl), checks that it runs, prints its fd, then waits for end of input: the kiln
 * process's exit, however it ends, closes the pipe. MFD_EXEC (0x10) is asked for first, as
 * kernels with vm.memfd_noexec would otherwise make the copy unexecutable; kernels older than the
 * flag reject it (EINVAL), and only then is it left out. Where no memfd may be executed (an LSM,
 * vm.memfd_noexec=2) the `--version` run fails and the holder exits: runc runs from its file.
 * The seals are runc's RUNC_MEMFD_SEALS: F_SEAL_SEAL | SHRINK | GROW | WRITE (F_ADD_SEALS, 1033).
 */
const HOLDER = `
use strict;
my ($memfd_create, $sendfile, $file) = @ARGV;
my $fd = syscall($memfd_create, my $name = "kiln-runc", 0x12);
$fd = syscall($memfd_create, $name, 0x02) if $fd < 0 && $!{EINVAL};
die "memfd_create: $!\\n" if $fd < 0;
open(my $out, ">&=", $fd) or die "memfd: $!\\n";
open(my $in, "<", $file) or die "$file: $!\\n";
for (my $left = -s $in; $left > 0; ) {
  my $n = syscall($sendfile, $fd, fileno($in), 0, $left);
  die "sendfile: $!\\n" if $n <= 0;
  $left -= $n;
}
fcntl($out, 1033, 15) or die "seal: $!\\n";
system("/proc/$$/fd/$fd --version >/dev/null 2>&1") == 0 or die "the copy does not run\\n";
$| = 1;
print "$fd\\n";
my $buf;
1 while sysread(STDIN, $buf, 4096);
`;

interface Holder {
  binary: string;
  /** The sealed copy's path while its holder is alive. */
  path: string | undefined;
  ready: Promise<string | undefined>;
}

let holder: Holder | undefined;

/**
 * Starts making the sealed copy of `binary` in the background, once per process, where it can
 * work: as real root (a user namespace's root runs runc rootless, left as it is), with perl and a
 * known memfd_create. Call it as soon as containers are likely: the copy is ready 12-16 ms later.
 */
export function prepareSealedRunc(binary: string, env: NodeJS.ProcessEnv = process.env): void {
  if (holder !== undefined) return;
  const nr = SYSCALLS[process.arch];
  const perl = findProgram('perl', env);
  if (nr === undefined || perl === undefined || process.geteuid?.() !== 0 || inUserNamespace()) return;
  const child = spawn(perl, ['-e', HOLDER, String(nr.memfdCreate), String(nr.sendfile), binary], { stdio: ['pipe', 'pipe', 'ignore'] });
  const h: Holder = { binary, path: undefined, ready: Promise.resolve(undefined) };
  h.ready = new Promise((resolve) => {
    const gone = () => {
      h.path = undefined;
      resolve(undefined);
    };
    child.on('error', gone);
    child.on('exit', gone);
    child.stdout.setEncoding('utf8').once('data', (line: string) => {
      const fd = Number.parseInt(line, 10);
      if (Number.isInteger(fd) && child.pid !== undefined && child.exitCode === null) h.path = `/proc/${child.pid}/fd/${fd}`;
      resolve(h.path);
    });
  });
  holder = h;
  // The holder lives as long as kiln but must not keep it alive.
  child.unref();
  for (const stream of [child.stdin, child.stdout]) (stream as { unref?: () => void }).unref?.();
}

/**
 * What to exec for `runc run` of `binary`: the sealed copy when it is ready and its holder still
 * holds it (a stat), else the binary itself.
 */
export function runcToRun(binary: string): string {
  const path = holder?.binary === binary ? holder.path : undefined;
  return path !== undefined && existsSync(path) ? path : binary;
}

/** The sealed copy's path once it is made, undefined when it will not be. */
export function sealedRuncReady(): Promise<string | undefined> {
  return holder?.ready ?? Promise.resolve(undefined);
}
