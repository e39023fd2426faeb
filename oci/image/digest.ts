import { createHash } from 'node:crypto';
import { KilnError } from '../../common/errors.js';

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

export class InvalidDigestError extends KilnError {
  constructor(digest: string) {
    super('E_DIGEST', `invalid digest "${digest}": kiln stores sha256 digests (sha256:<64 lowercase hex>)`);
  }
}

export function isDigest(s: string): boolean {
  return SHA256_DIGEST.test(s);
}

/** The hex part of a sha256 digest, after checking it is one (it ends up in file paths). */
export function digestHex(digest: string): string {
  if (!SHA256_DIGEST.test(digest)) throw new InvalidDigestError(digest);
  return digest.slice('sha256:'.length);
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The 12-hex short form docker shows for ids. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}
