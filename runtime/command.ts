import { spawn } from 'node:child_process';
import { KilnError } from '../common/errors.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a short helper program (mount, umount, runc list...) and collects its small output. */
export function runCommand(file: string, args: string[], options: { cwd?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new KilnError('E_RUNTIME_SPAWN', `cannot run ${file}: ${err.message}`, { cause: err })));
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + signalNumber(signal), stdout, stderr }));
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
