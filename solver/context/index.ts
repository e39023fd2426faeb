/**
 * The build context: a directory read through its .dockerignore (`<Dockerfile>.dockerignore`
 * beside a named Dockerfile wins), COPY/ADD source selection as BuildKit does it, and content
 * checksums for cache keys backed by the stat cache in the store's index.
 *
 * - `openContext(dir, { dockerfilePath?, store })` -> `BuildContext` (call `close()` when done).
 * - `context.checksum(sources, { exclude? })` -> `{ digest, files, size }`: the digest covers content,
 *   type, mode, uid/gid and symlink targets of every selected path, never times; `files` maps
 *   context-relative paths to per-entry digests. Throws `SourceNotFoundError` for a source that
 *   selects nothing.
 * - `context.verifyCopied(entry, copy)`: COPY calls it after copying each regular file; throws
 *   `ContextChangedError` (E_CONTEXT_CHANGED) when the file no longer holds what was hashed, so
 *   a copy from a context must follow a `checksum` of its sources (a file never hashed fails).
 * - `diffFiles(before, after)` -> `{ changed, added, removed }` for cache-miss explanations.
 * - `layOutVisible(view, rel, dest)`: what the view shows at `rel`, laid out at `dest` (hard links
 *   to the context's files): the source of a `RUN --mount=type=bind` of a context with ignore rules.
 * - `TreeView` / `selectSources` / `collectEntries`: the same selection over any directory
 *   (another stage's rootfs), used by solver/fileops so copies and checksums always agree. A
 *   visible name that is not UTF-8 throws `InvalidNameError` (E_CONTEXT_NAME); an ignored or
 *   excluded one is skipped.
 */
export { openContext, collectEntries, ContextChangedError, type BuildContext, type ChecksumOptions, type ContextChecksum, type OpenContextOptions } from './context.js';
export { diffFiles, type FileChanges } from './explain.js';
export { cleanPath, compileMatcher, type PathMatcher } from './ignore.js';
export { selectSources, SourceNotFoundError, type SelectOptions, type SourceMatch } from './select.js';
export { TreeView, cleanRel, InvalidNameError, nsToSeconds, type TreeEntry } from './tree.js';
export { layOutVisible } from './visible-tree.js';
export { hasGlobMeta, matchSegment } from './glob.js';
