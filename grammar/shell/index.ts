/**
 * Shell-word expansion as BuildKit does it for ENV, ARG, COPY, WORKDIR, FROM … :
 * `$VAR`, `${VAR}`, the `${VAR:-w}` family, `#`/`%` trims, `/` replacement, quotes,
 * escapes with the active escape character, and word splitting.
 */
export type { ShellEnv } from './env.js';
export { ShellExpansionError, type ShellErrorCode } from './errors.js';
export { expandHeredocBody, expandWord, expandWords, expandWordWithMatches, type ExpandOptions, type ExpansionWithMatches } from './expand.js';
