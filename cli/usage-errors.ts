import type { Command } from 'commander';

/**
 * Commander's own errors (an unknown option, a missing argument, a missing option value) in the
 * shape of every other kiln error: one paragraph, `kiln: ...` and a hint naming the command's
 * --help, rather than the whole help text after the error.
 */
export function conciseUsageErrors(cmd: Command, parent?: string): void {
  const name = parent === undefined ? cmd.name() : `${parent} ${cmd.name()}`;
  cmd.configureOutput({ outputError: (message, write) => write(message.replace(/^error: /, 'kiln: ')) });
  cmd.showHelpAfterError(`hint: see '${name} --help'`);
  for (const sub of cmd.commands) conciseUsageErrors(sub, name);
}
