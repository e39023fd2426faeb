/** Docker's JSON message stream (pull, push, load, import) as kiln's client reads it. */
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { KilnError } from '../common/errors.js';
import type { ErrorDetail } from '../daemon/index.js';
import { rebuildError } from './errors.js';

export interface JsonMessage {
  stream?: string;
  status?: string;
  id?: string;
  aux?: unknown;
}

/** Calls `fn` for each message; a failure line ends the stream as the error it reports. */
export async function readJsonMessages(body: Readable, fn: (m: JsonMessage) => void): Promise<void> {
  for await (const line of createInterface({ input: body, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const m = JSON.parse(line) as JsonMessage & { error?: string; kiln?: ErrorDetail };
    if (m.kiln) throw rebuildError(m.kiln);
    if (m.error !== undefined) throw new KilnError('E_DAEMON_STREAM', m.error);
    fn(m);
  }
}
