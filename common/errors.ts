/**
 * The one error shape every kiln layer throws for problems a user can act on.
 * The CLI prints `message` (and `hint`) without a stack trace for these; anything
 * that is not a KilnError is treated as an internal bug.
 */
export interface SourcePosition {
  /** File name as the user gave it (e.g. `Dockerfile`, `-` for stdin). */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

export interface KilnErrorOptions {
  cause?: unknown;
  /** What the user can do about it, printed after the message. */
  hint?: string;
  /** The exit code kiln ends with: 1 unless docker uses another for the same failure (126, 127 for a command `run` cannot start). */
  exitCode?: number;
}

export class KilnError extends Error {
  /** Stable, machine-readable code, e.g. `E_PARSE`, `E_STORE_DIGEST`. Never changes once shipped. */
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, options: KilnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A problem in a Dockerfile, tied to a source position and the offending line. */
export class DockerfileError extends KilnError {
  readonly position: SourcePosition;
  /** The text of the offending source line, without its line terminator. */
  readonly sourceLine: string | undefined;

  constructor(code: string, message: string, position: SourcePosition, sourceLine?: string, options: KilnErrorOptions = {}) {
    super(code, message, options);
    this.position = position;
    this.sourceLine = sourceLine;
  }

  /** `FILE:LINE:COL: message`, then the line and a caret under the column. */
  format(): string {
    const { file, line, column } = this.position;
    let out = `${file}:${line}:${column}: ${this.message}`;
    if (this.sourceLine !== undefined) {
      const shown = this.sourceLine.replace(/\t/g, ' ');
      out += `\n  ${shown}\n  ${' '.repeat(Math.max(0, column - 1))}^`;
    }
    return out;
  }
}

export function isKilnError(e: unknown): e is KilnError {
  return e instanceof KilnError;
}

/** The filesystem holding `path` is full. */
export class NoSpaceError extends KilnError {
  constructor(path: string, options: KilnErrorOptions = {}) {
    super('E_NO_SPACE', `no space left on ${path}`, {
      hint: 'free space there (`kiln prune` removes build cache) or put the state root on a bigger filesystem with --root',
      ...options,
    });
  }
}

/**
 * A full disk (ENOSPC, or SQLite's SQLITE_FULL) reported by something other than kiln's own
 * errors, as a NoSpaceError naming the path the error names, else `where`; undefined otherwise.
 */
export function asNoSpaceError(e: unknown, where: string): NoSpaceError | undefined {
  if (e instanceof KilnError || typeof e !== 'object' || e === null) return undefined;
  const err = e as { code?: unknown; dest?: unknown; path?: unknown };
  if (err.code !== 'ENOSPC' && err.code !== 'SQLITE_FULL') return undefined;
  const path = typeof err.dest === 'string' ? err.dest : typeof err.path === 'string' ? err.path : where;
  return new NoSpaceError(path, { cause: e });
}
