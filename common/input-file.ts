import { constants } from 'node:os';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileError } from './file-errors.js';

/**
 * Opens a file the user named for reading (`what` is the flag that named it, if one did). A
 * missing or unreadable file, or a directory, fails here, before any work starts, as a FileError
 * naming the path; a pipe or device (`<(...)`, /dev/stdin) is read as it comes.
 */
export async function openInputFile(path: string, what?: string): Promise<Readable> {
  const handle = await open(path, 'r').catch((e: unknown) => Promise.reject(fileError(e, 'read', path, what)));
  // open(2) takes a directory for reading; only the first read would say EISDIR.
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw fileError(Object.assign(new Error('is a directory'), { code: 'EISDIR', errno: -constants.errno.EISDIR }), 'read', path, what);
  }
  return handle.createReadStream();
}
