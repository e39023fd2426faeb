/**
 * File operations of a build: COPY, ADD and WORKDIR's mkdir, with BuildKit's semantics, writing
 * only inside the destination root filesystem.
 *
 * - `copy(options)`: COPY from the build context (`context` set: .dockerignore applies, files
 *   become 0:0) or from another tree (`sourceRoot`: ownership kept). Sources select what
 *   `BuildContext.checksum` hashes, so cache keys and copies agree.
 * - `add(options)`: COPY plus http(s) URL downloads (`checksum`) and local archive extraction.
 * - `copyInline(files, options)`: heredoc sources.
 * - `upperOnlyDirs(...)`/`upperOnlyMkdir(...)`/`copyUpDirs(...)`: whether a COPY or WORKDIR can
 *   write into a bare upper dir, no overlay mounted, and the directories to copy up there first;
 *   `accountsInLowers(...)` for the names they resolve.
 * - `mkdir(destRoot, path, owner?)`: WORKDIR.
 * - `resolveChown(accountsIn(destRoot), spec)` -> `{ uid, gid }`; `parseChmod(spec)` validates `--chmod` early.
 * Failures are `FileOpError`s (codes in errors.ts) or the context's `SourceNotFoundError`.
 */
export { copy, copyMatches, absoluteDest, destIsDirectory, type CopyOptions } from './copy.js';
export { accountsInLowers, copyUpDirs, upperOnlyDirs, upperOnlyMkdir } from './upper-dest.js';
export { add, prefetchUrl, type AddOptions, type Prefetched } from './add.js';
export { copyInline, type InlineFile } from './inline.js';
export { mkdir } from './mkdir.js';
export { accountsIn, checkLinkChown, numericChown, resolveChown, type Accounts } from './chown.js';
export { parseChmod, type ModeChange } from './chmod.js';
export { isGitSource, isUrlSource, urlFileName } from './fetch-url.js';
export { FileOpError } from './errors.js';
export type { Owner } from './scoped-path.js';
