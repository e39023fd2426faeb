/** Request and response helpers shared by every route: JSON in and out, errors as Docker's `{"message": ...}`. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { DockerfileError, KilnError, type KilnErrorOptions, type SourcePosition } from '../common/errors.js';
import { StepFailedError, type StepFailure } from '../solver/index.js';

/** An error with the HTTP status the API answers it with. */
export class ApiError extends KilnError {
  readonly status: number;

  constructor(status: number, code: string, message: string, options: KilnErrorOptions = {}) {
    super(code, message, options);
    this.status = status;
  }
}

export const badRequest = (message: string, options?: KilnErrorOptions) => new ApiError(400, 'E_API_BAD_REQUEST', message, options);
export const notFound = (message: string, options?: KilnErrorOptions) => new ApiError(404, 'E_API_NOT_FOUND', message, options);
export const conflict = (message: string, options?: KilnErrorOptions) => new ApiError(409, 'E_API_CONFLICT', message, options);

/** Store and runtime codes that are the client's doing, with Docker's status for them. */
const STATUS_BY_CODE: Record<string, number> = {
  E_IMAGE_NOT_FOUND: 404,
  E_IMAGE_AMBIGUOUS: 400,
  E_IMAGE_IN_USE: 409,
  E_REFERENCE: 400,
  E_REGISTRY_PUSH_TARGET: 400,
  E_REGISTRY_NOT_FOUND: 404,
  E_REGISTRY_UNAUTHORIZED: 401,
  E_ARCHIVE: 400,
  E_CHANGE: 400,
  E_COMPRESSION_OPTION: 400,
  E_RUNTIME_CAPABILITY: 400,
  E_RUN_NO_COMMAND: 400,
};

export function statusOf(err: unknown): number {
  if (err instanceof ApiError) return err.status;
  if (err instanceof KilnError) return STATUS_BY_CODE[err.code] ?? (err.code.startsWith('E_PARSE') || err.name === 'DockerfileError' ? 400 : 500);
  return 500;
}

/** What a client is told: the message and hint of a KilnError; never internals of a bug. */
export function messageOf(err: unknown): string {
  if (err instanceof KilnError) return err.hint ? `${err.message} (${err.hint})` : err.message;
  return 'internal error in the kiln daemon; see its log';
}

/** A failure as kiln's own client rebuilds it, so `kiln --host` prints what an embedded kiln prints. */
export interface ErrorDetail {
  code: string;
  message: string;
  hint?: string;
  position?: SourcePosition;
  sourceLine?: string;
  /** A failed RUN: its output's tail and where the daemon keeps its full log. */
  failure?: StepFailure;
}

export function errorDetail(err: unknown): ErrorDetail {
  if (!(err instanceof KilnError)) return { code: 'E_DAEMON_INTERNAL', message: messageOf(err) };
  return {
    code: err.code,
    message: err.message,
    ...(err.hint ? { hint: err.hint } : {}),
    ...(err instanceof DockerfileError ? { position: err.position, sourceLine: err.sourceLine } : {}),
    ...(err instanceof StepFailedError ? { failure: err.failure } : {}),
  };
}

/** Docker's error body, `{"message": ...}`, with kiln's detail beside it (the docker CLI ignores it). */
export function errorJson(err: unknown): { message: string; kiln: ErrorDetail } {
  return { message: messageOf(err), kiln: errorDetail(err) };
}

/** Aborts when the client closes the connection before the answer is complete, so its build stops. */
export function clientGoneSignal(res: ServerResponse): AbortSignal {
  const gone = new AbortController();
  res.on('close', () => {
    if (!res.writableEnded) gone.abort(new KilnError('E_BUILD_CANCELLED', 'the client went away'));
  });
  return gone.signal;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}

/** Largest JSON request body accepted; Docker's own bodies (container create) are a few KiB. */
export const JSON_BODY_LIMIT = 1 << 20;

/** Passes bytes through and fails once more than `limit` have gone by, so an endless body stops here. */
export function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) done(new ApiError(413, 'E_API_BODY_TOO_LARGE', `request body is larger than ${limit} bytes`));
      else done(null, chunk);
    },
  });
}

/** The body parsed as JSON; empty means `{}`. */
export async function readJson<T>(req: IncomingMessage, limit = JSON_BODY_LIMIT): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ApiError(413, 'E_API_BODY_TOO_LARGE', `request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw badRequest(`request body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** Docker's boolean query values: `1`, `true`, `True`; absent is `fallback`. */
export function queryBool(q: URLSearchParams, name: string, fallback = false): boolean {
  const v = q.get(name);
  if (v === null || v === '') return fallback;
  return v === '1' || v.toLowerCase() === 'true';
}

/** A query parameter holding JSON (`buildargs`, `labels`, `filters`). */
export function queryJson<T>(q: URLSearchParams, name: string, fallback: T): T {
  const v = q.get(name);
  if (v === null || v === '') return fallback;
  try {
    return JSON.parse(v) as T;
  } catch (cause) {
    throw badRequest(`query parameter ${name} is not valid JSON`, { cause });
  }
}
