import { constants, type Stats } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileProblem, type FileProblem } from './file-errors.js';

/** What is at `path`, or undefined when nothing is (or a part of the path is a file). */
export async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * Why kiln could not make files in `dir` (after making it and its missing parents, when it may),
 * or undefined when it can: the nearest directory at or above it that exists must be writable.
 */
export async function writableDirProblem(dir: string, createParents: boolean): Promise<FileProblem | undefined> {
  try {
    let existing = dir;
    let st = await statOrUndefined(existing);
    while (!st) {
      existing = dirname(existing);
      st = await statOrUndefined(existing);
    }
    if (!st.isDirectory()) return { reason: `${existing} is not a directory`, hint: 'check the path: a part of it is a file' };
    if (existing !== dir && !createParents) return { reason: `directory ${dir} does not exist`, hint: 'create it first, or give another path' };
    await access(existing, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (e) {
    return fileProblem(e, 'write');
  }
}
