/**
 * Docker's JSON message stream (build, pull, push, load): one JSON object per line, the HTTP
 * status fixed at 200 by the first line, so failures after that are `error`/`errorDetail` lines.
 */
import type { ServerResponse } from 'node:http';
import { errorDetail, messageOf } from './http.js';

export interface ProgressDetail {
  current?: number;
  total?: number;
}

export class JsonStream {
  constructor(private readonly res: ServerResponse) {}

  private line(obj: unknown): void {
    if (!this.res.headersSent) this.res.writeHead(200, { 'Content-Type': 'application/json' });
    if (!this.res.writableEnded) this.res.write(`${JSON.stringify(obj)}\n`);
  }

  /** Build output text. */
  stream(text: string): void {
    if (text !== '') this.line({ stream: text });
  }

  /** A status line, per layer when `id` is given (pull/push). */
  status(status: string, id?: string, progressDetail?: ProgressDetail): void {
    this.line({ status, ...(id !== undefined ? { id } : {}), ...(progressDetail ? { progressDetail } : {}) });
  }

  aux(value: unknown): void {
    this.line({ aux: value });
  }

  error(err: unknown): void {
    const message = messageOf(err);
    this.line({ errorDetail: { message }, error: message, kiln: errorDetail(err) });
  }

  end(): void {
    if (!this.res.headersSent) this.res.writeHead(200, { 'Content-Type': 'application/json' });
    this.res.end();
  }
}
