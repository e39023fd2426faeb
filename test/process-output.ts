/** Test helper: runs a program to completion and collects what it printed. */
import { spawn, type SpawnOptions } from 'node:child_process';

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `input`, when given, is written to stdin and stdin is closed; otherwise stdin is not connected. */
export function collectOutput(command: string, args: string[], options: SpawnOptions, input?: string | Buffer): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (input !== undefined) {
      // A program may fail before it has read all its input (a full disk); that is its result to see, not an error here.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
    }
  });
}
