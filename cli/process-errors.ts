import { fileError } from '../common/file-errors.js';
import { reportError } from './report-error.js';

/**
 * Errors that reach the process instead of a command's promise are reported as every other error
 * is: an 'error' event no one listens to, and a failing stdout that no command is streaming to
 * (that one's failure is its command's: common/output-file.ts).
 */
export function reportProcessErrors(debug: boolean): void {
  process.on('uncaughtException', (err) => {
    process.exitCode = reportError(err, debug);
    process.exit();
  });
  const onStdoutError = (err: NodeJS.ErrnoException) => {
    if (process.stdout.listenerCount('error') > 1) return;
    // A reader that stopped reading (`kiln images | head -1`) is not worth a message: the exit
    // status is SIGPIPE's, as a shell shows for docker, which that signal ends.
    if (err.code === 'EPIPE') process.exitCode ??= 141;
    else process.exitCode = reportError(fileError(err, 'write', 'stdout', 'to'), debug);
  };
  process.stdout.on('error', onStdoutError);
}
