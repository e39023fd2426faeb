import { KilnError } from '../common/errors.js';

/** Commands that run on the daemon when given --host; `serve` is the daemon and ignores it. */
export const REMOTE_COMMANDS: ReadonlySet<string> = new Set(['build', 'images', 'tag', 'rmi', 'serve']);

/** Refuses to run `command` embedded when the user asked for a daemon. */
export function assertRemoteSupported(command: string, host: string): void {
  if (REMOTE_COMMANDS.has(command)) return;
  throw new KilnError('E_CLIENT_UNSUPPORTED', `kiln ${command} does not support --host yet`, {
    hint: `run it without --host (unset KILN_HOST) to work on a local state root, or use the docker CLI with DOCKER_HOST=${host}`,
  });
}
