import { KilnError, NoSpaceError, type KilnErrorOptions } from './errors.js';

/**
 * A file or directory the user named (an output path, an input file, a flag's file) that kiln
 * cannot read or write. Codes: `E_FILE_READ`, `E_FILE_WRITE`.
 */
export class FileError extends KilnError {
  constructor(code: 'E_FILE_READ' | 'E_FILE_WRITE', message: string, options: KilnErrorOptions = {}) {
    super(code, message, options);
  }
}

/** What a system error code means, in the words a user reads (Node's messages lead with the code and the syscall). */
const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'it already exists',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  ETXTBSY: 'the file is busy',
  EPIPE: 'the reading end of the pipe was closed',
};

const HINTS: Record<string, { read?: string; write?: string }> = {
  ENOENT: { read: 'check the path', write: 'create the directory first, or give another path' },
  EACCES: { read: 'check the permissions of the file and its directories', write: 'choose a place you can write to' },
  EPERM: { read: 'check the permissions of the file and its directories', write: 'choose a place you can write to' },
  EROFS: { write: 'choose a path on a writable file system' },
  EISDIR: { read: 'give a file, not a directory', write: 'give a file name, not a directory' },
  ENOTDIR: { read: 'check the path', write: 'check the path: a part of it is a file' },
  EPIPE: { write: 'the program reading the output stopped early, so the output is incomplete' },
};

function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Why a filesystem call failed, without the code and syscall Node puts in front ("ENOENT: ..., open '/x'"). */
export function systemReason(e: unknown): string {
  const code = errnoCode(e);
  if (code !== undefined && REASONS[code]) return REASONS[code];
  const message = e instanceof Error ? e.message : String(e);
  return /^E[A-Z]+: ([^,]+)/.exec(message)?.[1] ?? message;
}

/** `--iidfile /x`, `--output dest=/x`: the path as the user gave it. */
export function named(path: string, what?: string): string {
  if (!what) return path;
  return what.endsWith('=') ? `${what}${path}` : `${what} ${path}`;
}

/** Why a path could not be read or written, and what to do about it. */
export interface FileProblem {
  reason: string;
  hint: string | undefined;
}

/** The reason and hint for a filesystem failure (`op` is what kiln was doing with the path). */
export function fileProblem(e: unknown, op: 'read' | 'write'): FileProblem {
  const code = errnoCode(e);
  return { reason: systemReason(e), hint: code === undefined ? undefined : HINTS[code]?.[op] };
}

/**
 * A filesystem failure on a path the user gave as a FileError naming that path (`what` is how the
 * user gave it, e.g. `--iidfile`), a full disk as a NoSpaceError; kiln's own errors pass through.
 */
export function fileError(e: unknown, op: 'read' | 'write', path: string, what?: string): KilnError {
  if (e instanceof KilnError) return e;
  if (errnoCode(e) === 'ENOSPC') return new NoSpaceError(path, { cause: e, hint: 'free space there, or write somewhere else' });
  const { reason, hint } = fileProblem(e, op);
  return new FileError(op === 'read' ? 'E_FILE_READ' : 'E_FILE_WRITE', `cannot ${op} ${named(path, what)}: ${reason}`, { cause: e, ...(hint ? { hint } : {}) });
}
