import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { KilnError } from '../common/errors.js';
import type { CommandResult } from './command.js';
import { ownerTag } from './owner.js';

/** Far longer than mount or umount ever take, even on a loaded machine. */
const HELPER_TIMEOUT_MS = 60_000;
const DONE = /\n@@kiln-done (\d+)\n$/;

interface Pending {
  line: string;
  resolve: (r: CommandResult) => void;
  reject: (e: unknown) => void;
}

/** `arg` as one single-quoted sh word. */
export function quote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs short programs (mount, umount) through one long-lived shell instead of a spawn each.
 * Node's spawn blocks the event loop until the child has exec'd, 15 ms and more on a loaded
 * machine, which serialises stages that should run side by side; the shell forks them off a
 * small process while Node only writes a line to a pipe. The shell has its own process group so
 * a Ctrl-C leaves it to the cleanup that unmounts, and it exits when kiln does (end of stdin).
 * Commands run one at a time, in order; their stdout and stderr come back together.
 */
class ShellHelper {
  private shell: ChildProcessByStdio<Writable, Readable, null> | undefined;
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private output = '';
  private timer: NodeJS.Timeout | undefined;

  run(file: string, args: string[], cwd: string | undefined): Promise<CommandResult> {
    const cmd = [file, ...args].map(quote).join(' ');
    const line = `${cwd === undefined ? '' : `cd ${quote(cwd)} && `}${cmd} </dev/null 2>&1; printf '\\n@@kiln-done %d\\n' $?\n`;
    return new Promise((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.current) return;
    const job = this.queue.shift();
    if (!job) {
      // Idle: the helper must not keep kiln alive.
      this.shell?.unref();
      (this.shell?.stdin as { unref?: () => void } | undefined)?.unref?.();
      (this.shell?.stdout as { unref?: () => void } | undefined)?.unref?.();
      return;
    }
    const shell = this.shell ?? this.start();
    shell.ref();
    (shell.stdin as { ref?: () => void }).ref?.();
    (shell.stdout as { ref?: () => void }).ref?.();
    this.current = job;
    this.output = '';
    this.timer = setTimeout(() => this.fail(new KilnError('E_RUNTIME_HELPER_TIMEOUT', `a mount helper command did not finish within ${HELPER_TIMEOUT_MS / 1000} s and was killed`, {
      hint: 'look for processes stuck in uninterruptible sleep (ps -eo pid,stat,cmd | grep " D") and for hung mounts; `kiln` removes what is left on its next start',
    })), HELPER_TIMEOUT_MS);
    shell.stdin.write(job.line);
  }

  private start(): ChildProcessByStdio<Writable, Readable, null> {
    // The marker and owner tag in its arguments let the next kiln process find it (orphans.ts).
    const shell = spawn('/bin/sh', ['-s', HELPER_MARK, ownerTag()], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    this.shell = shell;
    shell.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.output += d;
      const m = DONE.exec(this.output);
      if (!m || !this.current) return;
      const job = this.current;
      clearTimeout(this.timer);
      this.current = undefined;
      job.resolve({ code: Number(m[1]), stdout: this.output.slice(0, m.index), stderr: this.output.slice(0, m.index) });
      this.next();
    });
    shell.stdin.on('error', () => undefined);
    const gone = (err?: Error) => {
      if (this.shell !== shell) return;
      this.fail(new KilnError('E_RUNTIME_SPAWN', `the mount helper shell ${err ? `failed: ${err.message}` : 'exited'}`, err ? { cause: err } : {}));
    };
    shell.on('error', gone);
    shell.on('exit', () => gone());
    return shell;
  }

  /** Rejects the running command and drops the shell; queued commands get a fresh one. */
  private fail(err: KilnError): void {
    clearTimeout(this.timer);
    const shell = this.shell;
    this.shell = undefined;
    if (shell && shell.exitCode === null && shell.pid !== undefined) {
      try {
        process.kill(-shell.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    const job = this.current;
    this.current = undefined;
    job?.reject(err);
    if (this.queue.length > 0) this.next();
  }
}

const helper = new ShellHelper();

/** In a helper's arguments, with its owner's tag after it, so the next kiln can find it (orphans.ts). */
export const HELPER_MARK = 'kiln-mount-helper';

/** Like checkedCommand, through the shared helper shell: a non-zero exit becomes a KilnError with the program's message. */
export async function checkedViaShell(code: string, what: string, file: string, args: string[], options: { cwd?: string; hint?: string } = {}): Promise<string> {
  const r = await helper.run(file, args, options.cwd);
  if (r.code !== 0) {
    throw new KilnError(code, `${what}: ${r.stderr.trim() || `${file} exited with ${r.code}`}`, options.hint ? { hint: options.hint } : {});
  }
  return r.stdout;
}
