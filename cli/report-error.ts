import { DockerfileError, isKilnError } from '../common/errors.js';

/** Prints an error the way a user should see it and returns the exit code to use. */
export function reportError(err: unknown, debug: boolean, write: (s: string) => void = (s) => process.stderr.write(s)): number {
  if (err instanceof DockerfileError) {
    write(`${err.format()}\n`);
    if (err.hint) write(`hint: ${err.hint}\n`);
  } else if (isKilnError(err)) {
    write(`kiln: ${err.message}\n`);
    if (err.hint) write(`hint: ${err.hint}\n`);
  } else {
    // Not a user error: a bug in kiln. Show everything so it can be reported.
    const e = err as Error;
    write(`kiln: internal error: ${e?.message ?? String(err)}\n${e?.stack ?? ''}\n`);
    return 70;
  }
  if (debug && err instanceof Error && err.stack) write(`${err.stack}\n`);
  return err.exitCode;
}
