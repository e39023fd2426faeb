// kiln's public library API. Only what is exported here is supported for other tools.
export { KilnError, DockerfileError, isKilnError } from './common/errors.js';
export type { SourcePosition, KilnErrorOptions } from './common/errors.js';
