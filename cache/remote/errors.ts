import { KilnError, type KilnErrorOptions } from '../../common/errors.js';

/** Bad `--cache-to`/`--cache-from` specs, unreadable cache documents, failed cache exports. */
export class CacheTransferError extends KilnError {
  constructor(code: string, message: string, options: KilnErrorOptions = {}) {
    super(code, message, options);
  }
}
