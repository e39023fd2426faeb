import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { utimes } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileOpError } from './errors.js';
import { loadUndici } from '../../oci/index.js';
import { BULK_WRITE_BUFFER } from '../../common/bulk-write.js';
import { defaultCaCertificates } from '../../common/extra-ca.js';

const CHECKSUM = /^(sha256|sha384|sha512):([a-f0-9]+)$/;
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export function isUrlSource(src: string): boolean {
  return /^https?:\/\//i.test(src);
}

/** Git sources (`git@host:repo`, `git://`, `*.git` URLs, `#ref` fragments of those). */
export function isGitSource(src: string): boolean {
  return /^git@|^git:\/\/|^ssh:\/\//.test(src) || /^https?:\/\/.*\.git(#.*)?$/i.test(src);
}

/** The file name BuildKit gives a downloaded URL: the last segment of its path. */
export function urlFileName(url: string): string {
  const p = new URL(url).pathname;
  return p === '' || p === '/' ? '__unnamed__' : posix.basename(decodeURIComponent(p));
}

export function parseChecksum(spec: string): { algorithm: string; hex: string } {
  const m = CHECKSUM.exec(spec);
  if (!m || m[2]!.length !== HEX_LENGTH[m[1]!]) {
    throw new FileOpError('E_ADD_CHECKSUM', `invalid --checksum "${spec}"`, { hint: 'use the form sha256:<64 hex digits>' });
  }
  return { algorithm: m[1]!, hex: m[2]! };
}

/** What a download brought: the content's digest and the time it is given (Last-Modified), together the file's identity. */
export interface Downloaded {
  /** `sha256:<hex>`, or `--checksum`'s algorithm when it names another. */
  digest: string;
  /** Last-Modified in milliseconds, when the server sent a valid one. */
  modified?: number;
}

/**
 * Downloads `url` into `file` (mode 0600, mtime from Last-Modified as docker does), verifying
 * `checksum` while streaming. The caller owns `file` and removes it on failure.
 */
export async function download(url: string, file: string, checksum?: string): Promise<Downloaded> {
  const want = checksum === undefined ? undefined : parseChecksum(checksum);
  const ca = defaultCaCertificates();
  const { fetch, Agent } = await loadUndici();
  const dispatcher = ca ? new Agent({ connect: { ca } }) : undefined;
  try {
    return await fetchInto(fetch, url, file, want, dispatcher);
  } finally {
    await dispatcher?.close();
  }
}

async function fetchInto(fetch: typeof import('undici').fetch, url: string, file: string, want: { algorithm: string; hex: string } | undefined, dispatcher: import('undici').Dispatcher | undefined): Promise<Downloaded> {
  let res;
  try {
    res = await fetch(url, { redirect: 'follow', ...(dispatcher ? { dispatcher } : {}) });
  } catch (e) {
    throw new FileOpError('E_ADD_FETCH', `failed to load ${url}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`, {
      cause: e,
      hint: 'check the URL and that this machine can reach it',
    });
  }
  if (!res.ok || !res.body) {
    throw new FileOpError('E_ADD_FETCH', `failed to load ${url}: invalid response status ${res.status} ${res.statusText}`.trimEnd(), {
      hint: 'check the URL; ADD downloads only succeed with a 2xx response',
    });
  }
  const hash = createHash(want?.algorithm ?? 'sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), tap, createWriteStream(file, { mode: 0o600, highWaterMark: BULK_WRITE_BUFFER }));
  } catch (e) {
    throw new FileOpError('E_ADD_FETCH', `failed to download ${url}: ${(e as Error).message}`, { cause: e });
  }
  const got = hash.digest('hex');
  if (want && got !== want.hex) {
    throw new FileOpError('E_ADD_CHECKSUM', `digest mismatch for ${url}: expected ${want.algorithm}:${want.hex}, got ${want.algorithm}:${got}`, {
      hint: 'the file at the URL changed or --checksum is wrong; update --checksum only if you trust the new content',
    });
  }
  const modified = res.headers.get('last-modified');
  const when = modified ? new Date(modified) : undefined;
  const digest = `${want?.algorithm ?? 'sha256'}:${got}`;
  if (!when || Number.isNaN(when.getTime())) return { digest };
  await utimes(file, when, when);
  return { digest, modified: when.getTime() };
}
