import { spawn } from 'node:child_process';
import { KilnError } from '../common/errors.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Far longer than mount, umount or runc kill/delete ever take, even on a loaded machine. */
const HELPER_TIMEOUT_MS = 60_000;

/**
 * Runs a short helper program (mount, umount, runc list...) and collects its small output.
 * A helper that hangs (e.g. runc waiting on a wedged container) is killed and reported instead
 * of blocking kill, cleanup and release forever.
 */
export function runCommand(file: string, args: string[], options: { cwd?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new KilnError('E_RUNTIME_HELPER_TIMEOUT', `${file} ${args.join(' ')} did not finish within ${HELPER_TIMEOUT_MS / 1000} s and was killed`, {
          hint: 'look for processes stuck in uninterruptible sleep (ps -eo pid,stat,cmd | grep " D") and for hung mounts; `kiln` removes what is left on its next start',
        }),
      );
    }, HELPER_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new KilnError('E_RUNTIME_SPAWN', `cannot run ${file}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + signalNumber(signal), stdout, stderr });
    });
  });
}

/** Like runCommand, but a non-zero exit becomes a KilnError carrying the program's own message. */
export async function checkedCommand(code: string, what: string, file: string, args: string[], options: { cwd?: string; hint?: string } = {}): Promise<string> {
  const r = await runCommand(file, args, options);
  if (r.code !== 0) {
    throw new KilnError(code, `${what}: ${r.stderr.trim() || `${file} exited with ${r.code}`}`, options.hint ? { hint: options.hint } : {});
  }
  return r.stdout;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGPIPE: 13, SIGTERM: 15 };

export function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (SIGNALS[signal] ?? 0) : 0;
}
