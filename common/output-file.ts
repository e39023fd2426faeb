import { rmSync, type Stats } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { KilnError } from './errors.js';
import { FileError, fileError, named } from './file-errors.js';
import { onInterrupt } from './interrupt.js';
import { statOrUndefined, writableDirProblem } from './writable-dir.js';
import { BULK_WRITE_BUFFER } from './bulk-write.js';

/**
 * Files and directories kiln writes where the user said (`save -o`, `build -o`, `--iidfile`,
 * `--metadata-file`): checked before the work that fills them, written so that a failure (or
 * Ctrl-C) leaves no partial file, and every failure of the output itself a FileError that names
 * the path as the user gave it, never an uncaught stream error.
 */

export interface OutputOptions {
  /** Make missing parent directories (build -o does, as buildx; save -o and --iidfile do not, as docker). */
  createParents?: boolean;
}

/** What fills an output: it writes to `out` and ends it (as stream.pipeline does); or the whole text. */
export type OutputWriter = ((out: Writable) => Promise<void>) | string;

async function checkWritableDir(dir: string, path: string, what: string, createParents: boolean): Promise<void> {
  const problem = await writableDirProblem(dir, createParents);
  if (problem) throw new FileError('E_FILE_WRITE', `cannot write ${named(path, what)}: ${problem.reason}`, problem.hint ? { hint: problem.hint } : {});
}

/** The file or directory at `path`, if there is one; a failure to look is an error about `path`. */
async function statOutput(path: string, what: string): Promise<Stats | undefined> {
  return statOrUndefined(path).catch((e: unknown) => Promise.reject(fileError(e, 'write', path, what)));
}

/**
 * Fails unless `path` can be written as a file (`what` is the flag that named it, e.g. `--iidfile`):
 * a directory there, a missing parent (unless it may be made) or one kiln may not write in are errors.
 * Gives what is at `path` now, if anything.
 */
export async function checkOutputFile(path: string, what: string, opts: OutputOptions = {}): Promise<Stats | undefined> {
  const target = await statOutput(path, what);
  if (target?.isDirectory()) throw new FileError('E_FILE_WRITE', `cannot write ${named(path, what)}: it is a directory`, { hint: 'give the path of a file, not of a directory' });
  // A device or pipe (/dev/stdout, a fifo) is written in place, whatever its directory allows.
  if (target && !target.isFile()) return target;
  await checkWritableDir(dirname(resolve(path)), path, what, opts.createParents ?? false);
  return target;
}

/** Fails unless `path` can be a directory kiln fills (build -o type=local): an existing one, or a new one it can make. */
export async function checkOutputDir(path: string, what: string): Promise<void> {
  const target = await statOutput(path, what);
  if (target && !target.isDirectory()) throw new FileError('E_FILE_WRITE', `cannot write ${named(path, what)}: it exists and is not a directory`, { hint: 'give a directory, or a path that does not exist yet' });
  await checkWritableDir(resolve(path), path, what, true);
}

/**
 * Feeds `out` and waits until it is written (and flushed); if the output fails, that failure is
 * what is reported, as the write side usually only sees the stream it writes into destroyed.
 */
async function feed(out: Writable, writer: OutputWriter, outputError: (e: unknown) => KilnError): Promise<void> {
  let failure: unknown;
  const onError = (e: unknown) => {
    failure ??= e;
  };
  out.on('error', onError);
  const done = finished(out);
  // When the writer fails first, `done` rejects too, and that rejection must not go unhandled.
  done.catch(() => undefined);
  try {
    if (typeof writer === 'string') out.end(writer);
    else await writer(out);
    await done;
  } catch (e) {
    throw failure === undefined ? e : outputError(failure);
  } finally {
    out.off('error', onError);
  }
}

/** Writes an output to stdout; its failure (a closed pipe, a full disk) is a KilnError about stdout. */
export function writeStdout(writer: OutputWriter): Promise<void> {
  return feed(process.stdout, writer, (e) => fileError(e, 'write', 'stdout', 'to'));
}

/** Opens `file` for writing and feeds it; the file is closed whatever happens. */
async function writeFile(file: string, writer: OutputWriter, asWriteError: (e: unknown) => KilnError, flush: boolean): Promise<void> {
  const handle = await open(file, 'w', 0o666).catch((e: unknown) => Promise.reject(asWriteError(e)));
  const out = handle.createWriteStream({ flush, highWaterMark: BULK_WRITE_BUFFER });
  try {
    await feed(out, writer, asWriteError);
  } finally {
    out.destroy();
  }
}

/**
 * Writes a file the user named. A regular file is written under a temporary name beside it and
 * renamed into place, so it is whole or untouched (Ctrl-C included); a device or pipe
 * (/dev/stdout) is written in place. Failures of the output (not of what feeds it) become
 * FileErrors naming `path` as `what` gave it.
 */
export async function writeOutputFile(path: string, what: string, writer: OutputWriter, opts: OutputOptions = {}): Promise<void> {
  const target = await checkOutputFile(path, what, opts);
  const asWriteError = (e: unknown) => fileError(e, 'write', path, what);
  if (opts.createParents) await mkdir(dirname(path), { recursive: true }).catch((e: unknown) => Promise.reject(asWriteError(e)));
  if (target && !target.isFile()) return writeFile(path, writer, asWriteError, false);
  const tmp = `${path}.kiln-${process.pid}.tmp`;
  const forget = onInterrupt(() => rmSync(tmp, { force: true }));
  try {
    await writeFile(tmp, writer, asWriteError, true);
    await rename(tmp, path).catch((e: unknown) => Promise.reject(asWriteError(e)));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    forget();
  }
}
