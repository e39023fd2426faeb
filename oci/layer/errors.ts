import { KilnError, type KilnErrorOptions } from '../../common/errors.js';

/**
 * Stable codes:
 * - `E_LAYER_UNSAFE_PATH`: an entry (or link target) would land outside the target directory.
 * - `E_LAYER_DEVICE`: a device node in a layer while not running as root.
 * - `E_LAYER_UNMAPPED_ID`: rootless, an entry's owner is outside the user namespace's mapped ids.
 * - `E_LAYER_CORRUPT`: the tar (or its compression) is malformed or truncated.
 * - `E_LAYER_UNSUPPORTED`: a tar entry type kiln does not extract (sparse files, volume labels...).
 * - `E_LAYER_IO`: a filesystem operation failed while writing or extracting a layer.
 * - `E_LAYER_TOO_LARGE`, `E_LAYER_TOO_MANY_ENTRIES`, `E_LAYER_RATIO`: a layer or archive goes past an
 *   extraction limit (see extract-limits.ts); `E_LAYER_LIMIT_CONFIG`: a limit variable is malformed.
 */
export class LayerError extends KilnError {
  constructor(code: string, message: string, options: KilnErrorOptions = {}) {
    super(code, message, options);
  }
}
