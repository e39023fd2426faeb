import { KilnError, type KilnErrorOptions } from '../common/errors.js';

export class StoreError extends KilnError {
  constructor(code: string, message: string, options: KilnErrorOptions = {}) {
    super(code, message, options);
  }
}

export class ImageNotFoundError extends StoreError {
  constructor(nameOrId: string, options: KilnErrorOptions = {}) {
    super('E_IMAGE_NOT_FOUND', `image "${nameOrId}" not found in the local store`, {
      hint: 'list local images with `kiln images`; get it with `kiln pull`, `kiln load -i FILE` or `kiln import ROOTFS.tar NAME`',
      ...options,
    });
  }
}

export class AmbiguousImageError extends StoreError {
  constructor(prefix: string, count: number) {
    super('E_IMAGE_AMBIGUOUS', `image id prefix "${prefix}" matches ${count} images`, { hint: 'give more characters of the id' });
  }
}

export class BlobNotFoundError extends StoreError {
  constructor(digest: string) {
    super('E_BLOB_NOT_FOUND', `blob ${digest} is not in the store`, {
      hint: 'the store may have been cleaned or is damaged; pull or load the image again',
    });
  }
}

export class DigestMismatchError extends StoreError {
  constructor(what: string, expected: string, actual: string) {
    super('E_STORE_DIGEST', `${what}: content has digest ${actual}, expected ${expected}`, {
      hint: 'the source sent corrupt or different data; retry, and check the source is the one you meant',
    });
  }
}

export class SizeMismatchError extends StoreError {
  constructor(what: string, expected: number, actual: number) {
    super('E_STORE_SIZE', `${what}: content is ${actual} bytes, expected ${expected}`, {
      hint: 'the source sent truncated or different data; retry',
    });
  }
}

export class StoreBusyError extends StoreError {
  constructor(what: string, options: KilnErrorOptions = {}) {
    super('E_STORE_BUSY', `timed out waiting for ${what}`, {
      hint: 'another kiln process holds it; wait for that process to finish and retry',
      ...options,
    });
  }
}
