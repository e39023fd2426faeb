import { KilnError } from '../../common/errors.js';
import { hasGlobMeta, matchSegment } from './glob.js';
import { cleanRel, type TreeEntry, type TreeView } from './tree.js';

/** One path a COPY/ADD source selected. */
export interface SourceMatch {
  /** The path as matched, relative to the tree root (before following a final symlink). */
  given: string;
  /** The resolved entry (a final symlink followed, inside the tree). */
  entry: TreeEntry;
  /**
   * For `--parents`: the part of `given` kept under the destination. The whole path, or what
   * follows a `/./` pivot in the source.
   */
  kept: string;
}

export class SourceNotFoundError extends KilnError {
  constructor(source: string, hiddenByIgnore: boolean) {
    super('E_COPY_SOURCE_NOT_FOUND', `failed to compute cache key: "/${cleanRel(source)}": not found`, {
      hint: hiddenByIgnore
        ? `"${source}" is excluded by .dockerignore; remove it from there to copy it`
        : `check that "${source}" exists in the build context (paths are relative to the context directory, not the Dockerfile)`,
    });
  }
}

/** Splits BuildKit's `--parents` pivot: `a/./b/c` keeps `b/c` under the destination. */
function splitPivot(source: string): { path: string; pivot: string } {
  const i = source.indexOf('/./');
  if (i < 0) return { path: cleanRel(source), pivot: '' };
  return { path: cleanRel(source), pivot: cleanRel(source.slice(0, i)) };
}

/**
 * Expands COPY/ADD sources against a tree the way BuildKit does: each source is cleaned and made
 * relative to the root, wildcards match one path segment at a time (Go's filepath.Match), a
 * final symlink is followed inside the tree. A source that selects nothing is an error.
 */
export function selectSources(view: TreeView, sources: string[], options: SelectOptions = {}): SourceMatch[] {
  const out: SourceMatch[] = [];
  for (const source of sources) {
    const { path, pivot } = splitPivot(source);
    const glob = hasGlobMeta(path);
    const givens = glob ? expandGlob(view, path, options.parents ?? false) : [path];
    let found = 0;
    for (const given of givens) {
      const real = view.resolve(given, true);
      const entry = real === undefined ? undefined : view.stat(real);
      if (!entry) continue;
      found++;
      out.push({ given, entry, kept: keptAfterPivot(given, path, pivot, options.parents ?? false) });
    }
    // BuildKit copies with AllowEmptyWildcard: a wildcard that matches nothing copies nothing,
    // but the directory it is expanded in must exist (fsutil's ResolveWildcards walks it).
    if (found === 0 && !(glob && view.resolve(literalPrefix(path), true) !== undefined)) throw new SourceNotFoundError(source, hiddenByIgnore(view, path));
  }
  return out;
}

/**
 * What follows the pivot in a path `source` matched: the segments after those the pivot's pattern
 * matched, one each (a match's text may be longer than its pattern's), or where `**` spans several,
 * the split at which the rest of the source's pattern matches the rest of the path.
 */
function keptAfterPivot(given: string, source: string, pivot: string, parents: boolean): string {
  if (pivot === '') return given;
  const parts = given.split('/');
  const pattern = pivot.split('/');
  if (!(parents && source.includes('**'))) return parts.slice(pattern.length).join('/');
  const after = source === pivot ? [] : source.slice(pivot.length + 1).split('/');
  for (let n = parts.length; n >= 0; n--) if (segmentsMatch(pattern, parts.slice(0, n)) && segmentsMatch(after, parts.slice(n))) return parts.slice(n).join('/');
  return given;
}

/** Whether `names` match `pattern` segment by segment, `**` standing for any number of them. */
function segmentsMatch(pattern: readonly string[], names: readonly string[]): boolean {
  if (pattern.length === 0) return names.length === 0;
  const [first, ...rest] = pattern;
  if (first === '**') {
    for (let skip = 0; skip <= names.length; skip++) if (segmentsMatch(rest, names.slice(skip))) return true;
    return false;
  }
  return names.length > 0 && matchSegment(first!, names[0]!) && segmentsMatch(rest, names.slice(1));
}

export interface SelectOptions {
  /**
   * `COPY --parents`: BuildKit matches the part after the pivot as an include pattern
   * (patternmatcher), where `**` spans any number of directories.
   */
  parents?: boolean;
}

/** The segments before the first one with a wildcard: the directory fsutil walks. */
function literalPrefix(path: string): string {
  const segments = path.split('/');
  const i = segments.findIndex(hasGlobMeta);
  return segments.slice(0, i).join('/');
}

function hiddenByIgnore(view: TreeView, path: string): boolean {
  return !hasGlobMeta(path) && view.isIgnored(path);
}

function expandGlob(view: TreeView, path: string, doubleStar: boolean): string[] {
  let current = [''];
  const segments = path.split('/');
  const firstGlob = segments.findIndex(hasGlobMeta);
  for (const [i, seg] of segments.entries()) {
    const last = i === segments.length - 1;
    const next: string[] = [];
    if (doubleStar && seg === '**') {
      // Zero or more directories: each one and everything below it (the last `**` selects the
      // directory itself, whose whole content is copied).
      const seen = new Set<string>();
      const add = (p: string) => {
        if (!seen.has(p)) {
          seen.add(p);
          next.push(p);
        }
      };
      for (const dir of current) {
        add(dir);
        if (!last) descendants(view, dir, add);
      }
      current = next;
      continue;
    }
    for (const dir of current) {
      // Past the first wildcard, fsutil's ResolveWildcards walks (filepath.Walk) and so never
      // enters a symlink to a directory; the literal prefix before it is resolved through links.
      const real = view.resolve(dir, i <= firstGlob);
      if (real === undefined || view.stat(real)?.type !== 'dir') continue;
      const join = (n: string) => (dir === '' ? n : `${dir}/${n}`);
      if (!hasGlobMeta(seg)) {
        if (last || view.stat(`${real === '' ? '' : `${real}/`}${seg}`)) next.push(join(seg));
        continue;
      }
      for (const name of view.list(real)) if (matchSegment(seg, name)) next.push(join(name));
    }
    current = next;
  }
  return current;
}

/** Every path below `dir` (symlinks not followed), depth first. */
function descendants(view: TreeView, dir: string, add: (p: string) => void): void {
  const real = view.resolve(dir, true);
  if (real === undefined || view.stat(real)?.type !== 'dir') return;
  for (const name of view.list(real)) {
    const p = dir === '' ? name : `${dir}/${name}`;
    add(p);
    if (view.stat(real === '' ? name : `${real}/${name}`)?.type === 'dir') descendants(view, p, add);
  }
}
