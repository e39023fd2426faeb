import { realpath, stat } from 'node:fs/promises';
import { combineDigests, entryDigest, hashFiles, StatCache, type StatEntry, type Store } from '../../cache/index.js';
import { KilnError } from '../../common/errors.js';
import { compileMatcher, loadIgnorePatterns, type PathMatcher } from './ignore.js';
import { selectSources, type SourceMatch } from './select.js';
import { TreeView, type TreeEntry } from './tree.js';

export interface OpenContextOptions {
  /** The Dockerfile's path (relative to the context dir or absolute); its `.dockerignore` wins. */
  dockerfilePath?: string;
  store: Store;
}

export interface ChecksumOptions {
  /** `--exclude` patterns, matched relative to each selected source. */
  exclude?: string[];
}

export interface ContextChecksum {
  /** One digest for everything the sources select: content, type, mode, uid/gid, symlink targets. */
  digest: string;
  /** Context-relative path -> that entry's digest, for cache-miss explanations. */
  files: Map<string, string>;
}

/** A build context directory with its ignore rules applied. */
export interface BuildContext {
  /** The context directory (real path). */
  readonly root: string;
  /** The .dockerignore file in effect, if any. */
  readonly ignoreFile: string | undefined;
  /** The view COPY reads the context through: ignored paths do not exist in it. */
  readonly view: TreeView;
  /** Digest of what COPY/ADD `sources` select from the context; unchanged files are not re-read. */
  checksum(sources: string[], options?: ChecksumOptions): Promise<ContextChecksum>;
  /** Releases the stat cache's connection. */
  close(): void;
}

export async function openContext(dir: string, options: OpenContextOptions): Promise<BuildContext> {
  let root: string;
  try {
    root = await realpath(dir);
    if (!(await stat(root)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (e) {
    throw new KilnError('E_CONTEXT_NOT_FOUND', `unable to prepare context: path "${dir}" not found or not a directory`, {
      cause: e,
      hint: 'pass the directory holding the files your Dockerfile copies (often ".")',
    });
  }
  const ignore = await loadIgnorePatterns(root, options.dockerfilePath);
  const view = new TreeView(root, ignore.patterns.length > 0 ? compileMatcher(ignore.patterns) : undefined);
  return new ContextImpl(root, ignore.file, view, StatCache.open(options.store));
}

class ContextImpl implements BuildContext {
  private known: Map<string, StatEntry> | undefined;
  /** Digests of directories, symlinks and specials: few distinct ones, so computed once each. */
  private readonly metaDigests = new Map<string, string>();

  constructor(
    readonly root: string,
    readonly ignoreFile: string | undefined,
    readonly view: TreeView,
    private readonly cache: StatCache,
  ) {}

  async checksum(sources: string[], options: ChecksumOptions = {}): Promise<ContextChecksum> {
    const matches = selectSources(this.view, sources);
    const entries = collectEntries(this.view, matches, options.exclude ?? []);
    const known = (this.known ??= this.cache.load(this.root));
    const regular: TreeEntry[] = [];
    for (const e of entries.values()) if (e.type === 'file') regular.push(e);
    const read = await hashFiles(known, regular).catch((e: unknown) => {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EACCES' && code !== 'EISDIR') throw e;
      const path = (e as NodeJS.ErrnoException).path ?? '';
      throw new KilnError('E_CONTEXT_READ', `cannot read ${path.startsWith(this.root) ? path.slice(this.root.length + 1) : path} from the build context: ${code}`, {
        cause: e,
        hint: code === 'ENOENT' ? 'the context changed while kiln was reading it; run the build again' : 'make the file readable, or exclude it in .dockerignore',
      });
    });
    const forgotten = forgetVanished(known, matches, entries);
    if (read > 0 || forgotten > 0) this.cache.save(this.root, known);
    const files = new Map<string, string>();
    for (const e of entries.values()) files.set(e.rel === '' ? '.' : e.rel, e.type === 'file' ? known.get(e.rel)!.entryDigest : this.metaDigest(e));
    return { digest: combineDigests(files), files };
  }

  private metaDigest(e: TreeEntry): string {
    const content = e.type === 'symlink' ? this.view.readlink(e.rel) : '';
    const key = `${e.type}\0${e.mode}\0${e.uid}\0${e.gid}\0${content}`;
    let d = this.metaDigests.get(key);
    if (d === undefined) {
      d = entryDigest({ type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, content });
      this.metaDigests.set(key, d);
    }
    return d;
  }

  close(): void {
    this.cache.close();
  }
}

/**
 * Drops stat cache entries of files that are gone from directories this selection walked whole;
 * returns how many.
 */
function forgetVanished(known: Map<string, StatEntry>, matches: SourceMatch[], entries: Map<string, TreeEntry>): number {
  const prefixes = matches.filter((m) => m.entry.type === 'dir').map((m) => (m.entry.rel === '' ? '' : `${m.entry.rel}/`));
  if (prefixes.length === 0) return 0;
  let gone = 0;
  for (const rel of known.keys()) {
    if (!entries.has(rel) && prefixes.some((p) => rel.startsWith(p))) {
      known.delete(rel);
      gone++;
    }
  }
  return gone;
}

/** Everything the matches bring along: each match, and for directories their whole visible tree. */
export function collectEntries(view: TreeView, matches: SourceMatch[], exclude: string[]): Map<string, TreeEntry> {
  const excluder: PathMatcher | undefined = exclude.length > 0 ? compileMatcher(exclude) : undefined;
  const out = new Map<string, TreeEntry>();
  for (const m of matches) {
    if (m.entry.type === 'dir') {
      out.set(m.entry.rel, m.entry);
      view.walk(m.entry.rel, (e) => out.set(e.rel, e), excluder);
    } else if (!excluder?.matches(m.given.slice(m.given.lastIndexOf('/') + 1))) {
      out.set(m.entry.rel, m.entry);
    }
  }
  return out;
}
