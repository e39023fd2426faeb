// Public API of the Dockerfile grammar. Other folders import only from here.
export type * from './ast.js';
export { parseDockerfile, parseSingleInstruction, type ParseOptions } from './parse.js';
export { parseDockerfileNodes } from './parse-nodes.js';
export { dumpAst } from './dump.js';
export { groupStages } from './stages.js';
export { BUILDKIT_DISPATCH_CHECKS, BUILDKIT_PARSE_CHECKS } from './lint.js';
export { parseCheck } from './directives.js';
export { expandMount, MountProblem, parseMount } from './mounts.js';
export { chompHeredocContent, parseHeredocMarker } from './heredoc.js';
export { goQuote } from './go-text.js';
export {
  DockerfileErrorCode,
  DockerfileParseError,
  DirectiveError,
  FlagError,
  MountSpecError,
  UnknownInstructionError,
  UnterminatedHeredocError,
} from './errors.js';
export * from './shell/index.js';
