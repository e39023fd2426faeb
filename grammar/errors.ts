import { DockerfileError, type KilnErrorOptions, type SourcePosition } from '../common/errors.js';

/** Stable codes of Dockerfile errors. Never change a value once shipped. */
export const DockerfileErrorCode = {
  /** No instruction at all (empty file, only comments). */
  Empty: 'E_DOCKERFILE_EMPTY',
  /** Bad or duplicate parser directive (`# escape=x`). */
  Directive: 'E_DOCKERFILE_DIRECTIVE',
  /** Malformed line: JSON array of non-strings, ENV without value, bad heredoc... */
  Syntax: 'E_DOCKERFILE_SYNTAX',
  UnknownInstruction: 'E_DOCKERFILE_UNKNOWN_INSTRUCTION',
  /** Wrong number or shape of arguments for an instruction. */
  Arguments: 'E_DOCKERFILE_ARGUMENTS',
  /** Unknown, duplicate or malformed `--flag`. */
  Flag: 'E_DOCKERFILE_FLAG',
  /** Invalid `RUN --mount` specification. */
  Mount: 'E_DOCKERFILE_MOUNT',
  UnterminatedHeredoc: 'E_DOCKERFILE_HEREDOC',
  /** An instruction other than ARG before the first FROM. */
  NoStage: 'E_DOCKERFILE_NO_STAGE',
} as const;

export type DockerfileErrorCode = (typeof DockerfileErrorCode)[keyof typeof DockerfileErrorCode];

/** Base of every error the grammar throws: a DockerfileError with one of the codes above. */
export class DockerfileParseError extends DockerfileError {
  declare readonly code: DockerfileErrorCode;
  constructor(code: DockerfileErrorCode, message: string, position: SourcePosition, sourceLine?: string, options?: KilnErrorOptions) {
    super(code, message, position, sourceLine, options);
  }
}

export class DirectiveError extends DockerfileParseError {
  constructor(message: string, position: SourcePosition, sourceLine?: string) {
    super(DockerfileErrorCode.Directive, message, position, sourceLine);
  }
}

export class UnknownInstructionError extends DockerfileParseError {
  readonly instruction: string;
  constructor(instruction: string, position: SourcePosition, sourceLine?: string, hint?: string) {
    super(DockerfileErrorCode.UnknownInstruction, `unknown instruction: ${instruction}`, position, sourceLine, { hint });
    this.instruction = instruction;
  }
}

export class FlagError extends DockerfileParseError {
  constructor(message: string, position: SourcePosition, sourceLine?: string) {
    super(DockerfileErrorCode.Flag, message, position, sourceLine);
  }
}

export class MountSpecError extends DockerfileParseError {
  constructor(message: string, position: SourcePosition, sourceLine?: string) {
    super(DockerfileErrorCode.Mount, message, position, sourceLine);
  }
}

export class UnterminatedHeredocError extends DockerfileParseError {
  readonly delimiter: string;
  constructor(delimiter: string, position: SourcePosition, sourceLine?: string) {
    super(DockerfileErrorCode.UnterminatedHeredoc, `unterminated heredoc ${delimiter}`, position, sourceLine, {
      hint: `end the heredoc with a line containing only ${delimiter}`,
    });
    this.delimiter = delimiter;
  }
}
