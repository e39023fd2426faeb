/**
 * Test helper: a command on a fresh pseudo-terminal of 33x101 (test/pty-run.py), and the
 * interactive session every `run -it` test plays: the container reports its terminal and size,
 * the outer terminal is resized to 40x120 and a line is typed, the container exits 3.
 */
import type { ExecutionContext } from 'ava';
import { join } from 'node:path';
import { collectOutput, type ProcessResult } from './process-output.js';
import { repo } from './build-helpers.js';

export type TerminalSteps = [string, string[]][];

/**
 * Runs `argv` on the terminal, doing `steps` as their markers show up. With `thenStty`, under a
 * shell that prints `exit=CODE` and the terminal's `stty -a` afterwards (whether it was left as
 * found); without, `argv` is the process `signal:` steps reach.
 */
export function onTerminal(argv: string[], steps: TerminalSteps, options: { thenStty: boolean }): Promise<ProcessResult> {
  const command = options.thenStty ? ['sh', '-c', '"$@"; echo "exit=$?"; stty -a', 'sh', ...argv] : argv;
  return collectOutput('python3', [join(repo, 'test', 'pty-run.py'), '33', '101', JSON.stringify(steps), '--', ...command], {});
}

/** The container side of the session: run it with `sh -c`. */
// The resize travels through the client and, for a daemon, its API and terminal relay: the container
// waits up to 10 s to see it (a fixed pause flaked on a loaded machine), then reports the size it has.
// It waits for the whole new size: the relay's `stty rows R cols C` sets the two in turn, and a
// container that looked in between saw 40x101 (once in CI).
export const INTERACTIVE_SCRIPT =
  'tty; stty size; echo ready; read line; echo "got $line"; i=0; while [ "$(stty size)" != "40 120" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; stty size; exit 3';
export const INTERACTIVE_STEPS: TerminalSteps = [['ready', ['resize:40:120', 'typed text\r']]];

/** The session went as it should, through `onTerminal(..., { thenStty: true })`, and the terminal was given back in cooked mode. */
export function checkInteractive(t: ExecutionContext, stdout: string): void {
  const lines = stdout.split('\r\n');
  t.true(lines.includes('/dev/pts/0'), stdout);
  t.true(lines.includes('33 101'), stdout);
  // The container's terminal echoes what is typed.
  t.true(lines.includes('typed text'), stdout);
  t.true(lines.includes('got typed text'), stdout);
  t.true(lines.includes('40 120'), stdout);
  t.regex(stdout, /exit=3\r\n/);
  t.regex(stdout, /(^|\s)icanon(\s|$)/m);
  t.regex(stdout, /(^|\s)echo(\s|$)/m);
}
