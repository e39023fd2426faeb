/**
 * A container terminal relayed through pipes (the daemon's `docker run -t`). runc allocates the
 * container's terminal and relays it to a terminal of its own, which a daemon does not have: util-linux
 * `script` gives runc one (a pseudo-terminal whose other side is script's stdin and stdout) and
 * resizing that terminal makes runc resize the container's.
 */
import { readFile, readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { KilnError } from '../common/errors.js';
import { runCommand } from './command.js';
import { quote } from './shell-helper.js';

export interface TerminalSize {
  rows: number;
  cols: number;
}

/**
 * `script` running `argv` on a new terminal of `size`: nothing typed is echoed by that terminal
 * (the container's own terminal echoes), its size is set before runc reads it, and script exits
 * with the command's status.
 */
export function relayedCommand(argv: string[], size: TerminalSize): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  const shell = `stty rows ${size.rows} cols ${size.cols} && exec ${argv.map(quote).join(' ')}`;
  // script runs the command with $SHELL -c; the daemon's own SHELL may be anything.
  return { file: 'script', args: ['--quiet', '--return', '--echo', 'never', '--command', shell, '/dev/null'], env: { ...process.env, SHELL: '/bin/sh' } };
}

/** How long a resize waits for runc to start on the relay terminal. */
const START_WAIT_MS = 5_000;

/**
 * The relay terminal of a `script` process: its child's stdin, once the child is runc (before
 * that, the shell's `stty` of the first size could undo a resize made meanwhile).
 */
async function relayTerminal(scriptPid: number): Promise<string | undefined> {
  const children = await readFile(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8').catch(() => '');
  const child = children.trim().split(/\s+/)[0];
  if (!child) return undefined;
  const comm = await readFile(`/proc/${child}/comm`, 'utf8').catch(() => 'sh');
  if (comm.trim() === 'sh') return undefined;
  const tty = await readlink(`/proc/${child}/fd/0`).catch(() => undefined);
  return tty?.startsWith('/dev/pts/') ? tty : undefined;
}

/** Resizes the relay terminal, so runc (on SIGWINCH from the kernel) resizes the container's. */
export async function resizeRelay(scriptPid: number, size: TerminalSize): Promise<void> {
  const deadline = Date.now() + START_WAIT_MS;
  let tty = await relayTerminal(scriptPid);
  while (tty === undefined && Date.now() < deadline) {
    await sleep(25);
    tty = await relayTerminal(scriptPid);
  }
  if (tty === undefined) return;
  const r = await runCommand('stty', ['-F', tty, 'rows', String(size.rows), 'cols', String(size.cols)]);
  if (r.code !== 0) throw new KilnError('E_RUNTIME_RESIZE', `cannot resize the container's terminal: ${r.stderr.trim()}`);
}
