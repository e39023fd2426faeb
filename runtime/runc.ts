import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command.js';
import { runcToRun } from './sealed-runc.js';
import { relayedCommand, type TerminalSize } from './tty-relay.js';

/** One runc binary with kiln's own state dir, so kiln only ever sees and cleans its own containers. */
export class Runc {
  constructor(
    readonly binary: string,
    readonly root: string,
  ) {}

  /**
   * `runc run` in the foreground: the container's stdio are runc's, runc's own errors go to
   * logFile. With `relay`, runc runs on a terminal of that size that `script` relays to the stdio.
   * runc runs from its sealed copy once that is ready (sealed-runc.ts).
   */
  run(id: string, bundle: string, logFile: string, stdio: StdioOptions, detached: boolean, relay?: TerminalSize): ChildProcess {
    const args = ['--root', this.root, '--log', logFile, '--log-format', 'json', 'run', '--bundle', bundle, id];
    const binary = runcToRun(this.binary);
    if (!relay) return spawn(binary, args, { cwd: bundle, stdio, detached });
    const wrapped = relayedCommand([binary, ...args], relay);
    return spawn(wrapped.file, wrapped.args, { cwd: bundle, stdio, detached, env: wrapped.env });
  }

  async kill(id: string, signal: string): Promise<boolean> {
    return (await runCommand(this.binary, ['--root', this.root, 'kill', id, signal])).code === 0;
  }

  /** Removes the container whatever state it is in; a missing container is fine. */
  async delete(id: string): Promise<void> {
    if (!this.exists(id)) return;
    await runCommand(this.binary, ['--root', this.root, 'delete', '--force', id]);
  }

  /** A stat, not a thread-pool trip: every RUN asks once its container has exited. */
  exists(id: string): boolean {
    return existsSync(join(this.root, id));
  }

  async list(): Promise<RuncContainer[]> {
    const r = await runCommand(this.binary, ['--root', this.root, 'list', '--format', 'json']);
    if (r.code !== 0) return [];
    const parsed = JSON.parse(r.stdout.trim() || 'null') as RuncContainer[] | null;
    return parsed ?? [];
  }
}

export interface RuncContainer {
  id: string;
  pid: number;
  status: string;
  bundle: string;
  created: string;
}

/** The last error runc logged, e.g. `exec: "nosuch": executable file not found in $PATH`. */
export async function lastRuncError(logFile: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(logFile, 'utf8');
  } catch {
    return undefined;
  }
  let message: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) message = entry.msg;
    } catch {
      message = line;
    }
  }
  return message;
}
