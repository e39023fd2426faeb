// kiln's public library API. Only what is exported here is supported for other tools.
export { KilnError, DockerfileError, isKilnError } from './common/errors.js';
export type { SourcePosition, KilnErrorOptions } from './common/errors.js';

// Dockerfile grammar: parser, AST types, BuildKit dump, errors, shell-word expansion.
export {
  parseDockerfile,
  parseDockerfileNodes,
  dumpAst,
  groupStages,
  parseMount,
  chompHeredocContent,
  expandWord,
  expandWords,
  DockerfileErrorCode,
  DockerfileParseError,
  DirectiveError,
  FlagError,
  MountSpecError,
  UnknownInstructionError,
  UnterminatedHeredocError,
} from './grammar/index.js';
export type * from './grammar/ast.js';
export type { ParseOptions } from './grammar/index.js';
