/** The daemon's failures rebuilt as the KilnErrors an embedded kiln throws, so they print the same. */
import { DockerfileError, KilnError } from '../common/errors.js';
import type { ErrorDetail } from '../daemon/index.js';
import { StepFailedError } from '../solver/index.js';

export function rebuildError(e: ErrorDetail): KilnError {
  const options = e.hint ? { hint: e.hint } : {};
  if (e.position && e.failure) return new StepFailedError(e.failure, e.position, e.sourceLine);
  if (e.position) return new DockerfileError(e.code, e.message, e.position, e.sourceLine, options);
  return new KilnError(e.code, e.message, options);
}

/**
 * An error answer's body: kiln's detail when the daemon sent it, else Docker's `message` (or the
 * raw text) under E_DAEMON_<status>.
 */
export function errorFromBody(status: number, raw: string, host: string): KilnError {
  let body: { message?: string; kiln?: ErrorDetail } = {};
  try {
    const parsed: unknown = JSON.parse(raw);
    // JSON that is not an object (null, a number) carries no fields: the raw text is the message.
    if (typeof parsed === 'object' && parsed !== null) body = parsed as typeof body;
  } catch {
    // Not JSON: the body is the message as it is.
  }
  if (body.kiln?.code && typeof body.kiln.message === 'string') return rebuildError(body.kiln);
  const message = body.message ?? raw.trim();
  return new KilnError(`E_DAEMON_${status}`, message || `the kiln daemon at ${host} answered ${status}`);
}
