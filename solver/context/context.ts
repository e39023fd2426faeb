import { lstatSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { combineDigests, dirMatches, entryDigest, entryMatches, hashFiles, hashFileSync, nowNs, StatCache, statMatches, type ContextStats, type FileStat, type Store } from '../../cache/index.js';
import { KilnError } from '../../common/errors.js';
import { compileMatcher, loadIgnorePatterns, type PathMatcher } from './ignore.js';
import { selectSources, type SourceMatch } from './select.js';
import { TreeView, type DirListings, type TreeEntry } from './tree.js';

export interface OpenContextOptions {
  /** The Dockerfile's path (relative to the context dir or absolute); its `.dockerignore` wins. */
  dockerfilePath?: string;
  store: Store;
}

export interface ChecksumOptions {
  /** `--exclude` patterns, matched relative to each selected source. */
  exclude?: string[];
  /** `COPY --parents`: `**` spans directories (see SelectOptions). */
  parents?: boolean;
}

export interface ContextChecksum {
  /** One digest for everything the sources select: content, type, mode, uid/gid, symlink targets. */
  digest: string;
  /** Context-relative path -> that entry's digest, for cache-miss explanations. */
  files: Map<string, string>;
  /** The regular files selected, and their bytes: about what a COPY of them writes. */
  size: { bytes: number; files: number };
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
  /**
   * Throws `ContextChangedError` unless the regular file `e`, just copied to `copy`, held the
   * bytes its checksum hashed, so a cache key never names other content. A re-stat vouches for
   * it; only a file changed too recently for its times to tell (racy) has its copy read again.
   */
  verifyCopied(e: TreeEntry, copy: string): void;
  /**
   * Writes what checksums learnt to the stat cache now; close() does it too. A build does it once
   * its steps are done, while it waits for layers to be packed: rewriting a 10,000-file context's
   * records takes ~30 ms, which between a checksum and its COPY delayed every later step.
   */
  saveStats(): void;
  /** Saves the stat cache (saveStats) and releases its connection. */
  close(): void;
}

/** A context file changed between its checksum (the cache key) and its copy. */
export class ContextChangedError extends KilnError {
  constructor(rel: string, cause?: unknown) {
    super('E_CONTEXT_CHANGED', `file changed while being copied: ${rel}; retry the build`, {
      ...(cause === undefined ? {} : { cause }),
      hint: 'something is writing into the build context during the build; let it finish, or exclude what it writes in .dockerignore',
    });
  }
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
  const stats = new RootStats(() => StatCache.open(options.store), root);
  const view = new TreeView(root, ignore.patterns.length > 0 ? compileMatcher(ignore.patterns) : undefined, stats);
  return new ContextImpl(root, ignore.file, view, stats);
}

/**
 * The stat cache's entries for one context root, loaded on first use and saved when changed. It
 * also lists directories for walks of the context: a directory whose mtime and ctime are those
 * recorded holds the names recorded, so a no-op rebuild reads no directory, only lstats.
 */
class RootStats implements DirListings {
  private loaded: ContextStats | undefined;
  private dirty = false;
  /** Directories read rather than answered from the cache, so far. */
  relisted = 0;
  /** Directories whose names this process has read or found unchanged: listings that can tell what is gone. */
  readonly listedNow = new Set<string>();

  /** The stat cache's connection, opened on first use: a build that copies nothing from the context (~2-4 ms) never opens it. */
  private opened: StatCache | undefined;

  constructor(
    private readonly open: () => StatCache,
    private readonly root: string,
  ) {}

  private get cache(): StatCache {
    return (this.opened ??= this.open());
  }

  get stats(): ContextStats {
    return (this.loaded ??= this.cache.load(this.root));
  }

  changed(): void {
    this.dirty = true;
  }

  names(dir: TreeEntry, read: () => string[]): string[] {
    const known = this.stats.dirs.get(dir.rel);
    this.listedNow.add(dir.rel);
    if (known && dirMatches(known, dir)) return known.names;
    const recordedNs = nowNs();
    const names = read();
    this.relisted++;
    this.stats.dirs.set(dir.rel, { mtimeNs: dir.mtimeNs, ctimeNs: dir.ctimeNs, ino: dir.ino, dev: dir.dev, names, recordedNs });
    this.dirty = true;
    return names;
  }

  save(): void {
    if (!this.dirty) return;
    this.cache.save(this.root, this.stats);
    this.dirty = false;
  }

  close(): void {
    if (!this.opened) return;
    this.save();
    this.opened.close();
  }
}

class ContextImpl implements BuildContext {
  /** Digests of directories, symlinks and specials: few distinct ones, so computed once each. */
  private readonly metaDigests = new Map<string, string>();

  constructor(
    readonly root: string,
    readonly ignoreFile: string | undefined,
    readonly view: TreeView,
    private readonly stats: RootStats,
  ) {}

  async checksum(sources: string[], options: ChecksumOptions = {}): Promise<ContextChecksum> {
    const matches = selectSources(this.view, sources, { parents: options.parents ?? false });
    const relisted = this.stats.relisted;
    const entries = collectEntries(this.view, matches, options.exclude ?? []);
    // Names can only have gone from a directory that had to be read again: with none, nothing vanished.
    const mayHaveVanished = this.stats.relisted !== relisted;
    const known = this.stats.stats;
    const regular: TreeEntry[] = [];
    let bytes = 0;
    for (const e of entries.values()) {
      if (e.type !== 'file') continue;
      regular.push(e);
      bytes += Number(e.size);
    }
    const read = await hashFiles(known.files, regular).catch((e: unknown) => {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EACCES' && code !== 'EISDIR') throw e;
      const path = (e as NodeJS.ErrnoException).path ?? '';
      throw new KilnError('E_CONTEXT_READ', `cannot read ${path.startsWith(this.root) ? path.slice(this.root.length + 1) : path} from the build context: ${code}`, {
        cause: e,
        hint: code === 'ENOENT' ? 'the context changed while kiln was reading it; run the build again' : 'make the file readable, or exclude it in .dockerignore',
      });
    });
    // Swept even when files were read again: a racy record re-read must not hide a vanished one.
    const vanished = mayHaveVanished && forgetVanished(known, this.stats.listedNow, matches);
    if (read > 0 || vanished) this.stats.changed();
    const files = new Map<string, string>();
    for (const e of entries.values()) files.set(e.rel === '' ? '.' : e.rel, e.type === 'file' ? this.fileDigest(e) : this.metaDigest(e));
    return { digest: combineDigests(files), files, size: { bytes, files: regular.length } };
  }

  verifyCopied(e: TreeEntry, copy: string): void {
    const known = this.stats.stats.files.get(e.rel);
    let now: FileStat;
    try {
      const st = lstatSync(e.path, { bigint: true });
      now = { size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: st.ino, dev: st.dev, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
    } catch (err) {
      throw new ContextChangedError(e.rel, err);
    }
    if (known && (entryMatches(known, now) || (statMatches(known, now) && hashFileSync(copy) === known.digest))) return;
    throw new ContextChangedError(e.rel);
  }

  /**
   * The digest hashFiles recorded for `e`. Other steps hash the same context meanwhile; one whose
   * directory listing shows the file gone drops its record, and then it changed under this step.
   */
  private fileDigest(e: TreeEntry): string {
    const recorded = this.stats.stats.files.digests(e.rel);
    if (recorded === undefined) throw new ContextChangedError(e.rel);
    return recorded.entryDigest;
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

  saveStats(): void {
    this.stats.save();
  }

  close(): void {
    this.stats.close();
  }
}

/**
 * Drops stat cache entries of files and directories that are gone from directories this
 * selection walked whole; true if there were any. Gone means missing from a directory listing
 * this process read or confirmed: a path the selection merely left out (an --exclude pattern, an
 * excluded directory it never entered) is still there, and another step may be hashing it.
 */
function forgetVanished(known: ContextStats, listedNow: ReadonlySet<string>, matches: SourceMatch[]): boolean {
  const prefixes = matches.filter((m) => m.entry.type === 'dir').map((m) => (m.entry.rel === '' ? '' : `${m.entry.rel}/`));
  if (prefixes.length === 0) return false;
  const names = new Map<string, Set<string>>();
  const listed = (dir: string): Set<string> | undefined => {
    if (!listedNow.has(dir)) return undefined;
    let set = names.get(dir);
    if (set === undefined) names.set(dir, (set = new Set(known.dirs.get(dir)?.names)));
    return set;
  };
  const gone = (rel: string, prefix: string): boolean => {
    for (let at = prefix.length; ; ) {
      const slash = rel.indexOf('/', at);
      const dir = at === 0 ? '' : rel.slice(0, at - 1);
      const here = listed(dir);
      if (here === undefined) return false;
      if (!here.has(rel.slice(at, slash === -1 ? undefined : slash))) return true;
      if (slash === -1) return false;
      at = slash + 1;
    }
  };
  let any = false;
  for (const map of [known.files, known.dirs]) {
    for (const rel of map.keys()) {
      const prefix = rel === '' ? undefined : prefixes.find((p) => rel.startsWith(p));
      if (prefix !== undefined && gone(rel, prefix)) {
        map.delete(rel);
        any = true;
      }
    }
  }
  return any;
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
