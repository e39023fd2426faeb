import { KilnError, type KilnErrorOptions } from '../../common/errors.js';

/**
 * A COPY/ADD/WORKDIR file operation that cannot be done as asked. Codes: E_COPY_DEST (bad or
 * conflicting destination), E_COPY_CHMOD (unparsable --chmod), E_ADD_FETCH (download failed),
 * E_ADD_CHECKSUM (--checksum mismatch), E_ADD_UNSUPPORTED (git sources), E_ADD_ARCHIVE (archive
 * cannot be extracted), E_COPY_IO (filesystem failure while copying).
 */
export class FileOpError extends KilnError {
  constructor(code: string, message: string, options: KilnErrorOptions = {}) {
    super(code, message, options);
  }
}
