import type { DockerfileErrorCode } from './errors.js';

/**
 * A problem found inside one logical line, before it is known where that line sits in the file.
 * The caller that owns the line's position map turns it into a DockerfileParseError.
 */
export class LineProblem extends Error {
  constructor(
    readonly code: DockerfileErrorCode,
    message: string,
    /** Offset in the logical line the problem points at. */
    readonly offset: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}
