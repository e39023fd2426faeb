import { KilnError, type KilnErrorOptions } from '../../common/errors.js';

/** Stable codes for every way a shell word can fail to expand. */
export type ShellErrorCode =
  /** `${` without its closing `}` (BuildKit: `syntax error: missing '}'`). */
  | 'E_SHELL_MISSING_BRACE'
  /** `${}`, `${:…}`, `${{…}` (BuildKit: `syntax error: bad substitution`). */
  | 'E_SHELL_BAD_SUBSTITUTION'
  /** `${VAR=w}`, `${VAR:#p}`, `${VAR.}` … (BuildKit: `unsupported modifier (X) in substitution`). */
  | 'E_SHELL_UNSUPPORTED_MODIFIER'
  /** `${VAR/pattern` without the `/` before the replacement. */
  | 'E_SHELL_MISSING_SLASH'
  /** A `'` or `"` that is never closed. */
  | 'E_SHELL_UNTERMINATED_QUOTE'
  /** `${VAR?msg}` / `${VAR:?msg}` with VAR unset (or empty for `:?`). */
  | 'E_SHELL_REQUIRED_VARIABLE'
  /** A `#`, `%` or `/` pattern with a bad escape, e.g. `${VAR#\x}`. */
  | 'E_SHELL_INVALID_PATTERN';

/**
 * A word that cannot be expanded. `message` is BuildKit's wording (e.g. `X: message` for
 * `${X:?message}`); `word` is the whole input and `offset` the UTF-16 index in it where the
 * failing construct starts, so a caller can point at the exact column.
 */
export class ShellExpansionError extends KilnError {
  declare readonly code: ShellErrorCode;
  readonly word: string;
  readonly offset: number;

  constructor(code: ShellErrorCode, message: string, word: string, offset: number, options: KilnErrorOptions = {}) {
    super(code, message, options);
    this.word = word;
    this.offset = offset;
  }
}
