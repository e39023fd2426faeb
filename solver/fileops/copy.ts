import {
  chmodSync,
  existsSync,
  chownSync,
  constants as fsc,
  copyFileSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readlinkSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
} from 'node:fs';
import { basename, dirname, join, posix, relative, resolve } from 'node:path';
import { isKilnError, type KilnError } from '../../common/errors.js';
import { compileMatcher, nsToSeconds, selectSources, TreeView, type BuildContext, type PathMatcher, type SourceMatch, type TreeEntry } from '../context/index.js';
import { parseChmod, type ModeChange } from './chmod.js';
import { FileOpError } from './errors.js';
import { mkdirAllScoped, resolveScoped, type Owner } from './scoped-path.js';
import { copyXattrsSync } from './xattrs.js';
import { EventLoopSlice } from '../../common/event-loop-slice.js';

export interface CopyOptions {
  /** The tree sources are read from: the context dir, or another stage's/image's rootfs. */
  sourceRoot: string;
  /** Set when copying from the build context: its ignore rules apply and files become 0:0. */
  context?: BuildContext;
  /** Source paths as written (globs allowed), relative to `sourceRoot`. */
  sources: string[];
  /** Destination as written; relative to `workdir` unless absolute. */
  dest: string;
  /** Host path of the root filesystem being written (or an empty dir for `--link`). */
  destRoot: string;
  /** The stage's WORKDIR (absolute, container view). */
  workdir: string;
  /** `--chown`, already resolved to numbers (see `resolveChown`). */
  chown?: Owner;
  /** `--chmod`, octal or symbolic. */
  chmod?: string;
  parents?: boolean;
  exclude?: string[];
  /**
   * SOURCE_DATE_EPOCH in seconds: directories made for the destination's path, and existing ones
   * the copy adds entries to, get it as their times (they would otherwise carry the moment of
   * the build into the layer). Copied source directories keep their own.
   */
  createdTime?: number;
}

export function destIsDirectory(dest: string): boolean {
  return dest === '' || dest === '.' || dest.endsWith('/') || dest.endsWith('/.');
}

/** The destination as an absolute container path, relative ones resolved against WORKDIR. */
export function absoluteDest(dest: string, workdir: string): string {
  return posix.isAbsolute(dest) ? posix.normalize(dest) : posix.join(workdir || '/', dest);
}

/**
 * COPY with BuildKit's semantics: directory sources copy their contents, file sources land in
 * `dest` when it is (or names) a directory and become `dest` otherwise, missing parents are
 * created 0755 (owned by `--chown`), symlinks are copied as symlinks, hard links within one copy
 * stay linked, times are kept, files from the context become 0:0 unless `--chown` says otherwise.
 * Every write stays inside `destRoot`.
 */
export async function copy(o: CopyOptions): Promise<void> {
  // Several sources with a dest not ending in / are no error in BuildKit (moby/buildkit#1853):
  // each source is copied in turn, into dest if it is a directory by then, else as dest.
  const view = o.context ? o.context.view : new TreeView(o.sourceRoot);
  const matches = selectSources(view, o.sources, { parents: o.parents ?? false });
  await copyMatches(view, matches, o);
}

/** Copies already-selected sources; shared by COPY, ADD and heredoc sources. */
export async function copyMatches(view: TreeView, matches: SourceMatch[], o: Omit<CopyOptions, 'sources' | 'sourceRoot'>): Promise<void> {
  const job = new CopyJob(view, o);
  const destPath = absoluteDest(o.dest, o.workdir);
  const intoDir = destIsDirectory(o.dest) || Boolean(o.parents);
  // A wildcard that matched nothing copies nothing: not even the destination is made (BuildKit).
  if (intoDir && matches.length > 0) job.mkdirParents(destPath);
  for (const [i, m] of matches.entries()) {
    job.source = o.parents ? 0 : i;
    const target = o.parents ? posix.join(destPath, m.kept) : destPath;
    if (o.parents) job.keptParents(m, destPath);
    if (m.entry.type === 'dir') {
      job.copyDirectory(m, target, Boolean(o.parents));
    } else if (!job.excludesFile(m)) {
      job.copyLeaf(m, target, intoDir && !o.parents);
    }
  }
  await job.finish();
}

/** How long sync file work may hold the event loop before yielding to other build steps. */
const SLICE_MS = 15;

/**
 * Plans a copy (directories created while walking, in order) and then writes files, symlinks
 * and hard links with synchronous calls in short slices: for thousands of small files that is
 * several times faster than the same calls through the thread pool, and yielding between slices
 * keeps progress output and concurrent steps running.
 */
class CopyJob {
  private readonly modeChange: ModeChange | undefined;
  /** Who owns what we write; undefined keeps the source's owner. */
  private readonly owner: Owner | undefined;
  /** `--exclude`, matched relative to each directory source and against a file source's name. */
  private readonly excluder: PathMatcher | undefined;
  /** What to write: entry, target, and the source it came from (hard links are kept within one source only). */
  private readonly leaves: [TreeEntry, string, number][] = [];
  /** The source being planned: BuildKit copies each source (each wildcard match) with a copier of its own. */
  source = 0;
  /** Directories whose metadata is set last, so writing their contents does not disturb it. */
  private readonly dirs: [string, TreeEntry][] = [];
  /** Existing `--parents` directories that only take the source directory's mode. */
  private readonly modeOnly: [string, TreeEntry][] = [];
  /** Where the first copy of each multiply-linked inode went, so later names link to it. */
  private readonly linked = new Map<string, string>();
  /** Directories made for the destination's path or given new entries (not copies of source directories). */
  private readonly touched = new Set<string>();
  private readonly myUid = process.getuid?.();
  private readonly myGid = process.getgid?.();

  constructor(
    private readonly view: TreeView,
    private readonly o: Omit<CopyOptions, 'sources' | 'sourceRoot'>,
  ) {
    this.modeChange = o.chmod ? parseChmod(o.chmod) : undefined;
    this.owner = o.chown ?? (o.context ? { uid: 0, gid: 0 } : undefined);
    this.excluder = o.exclude && o.exclude.length > 0 ? compileMatcher(o.exclude) : undefined;
  }

  mkdirParents(path: string): void {
    const made: string[] = [];
    mkdirAllScoped(this.o.destRoot, path, 0o755, this.o.chown, made);
    if (made.length > 0) this.touched.add(dirname(made[0]!));
    for (const dir of made) this.touched.add(dir);
  }

  /**
   * `--parents`: the directories of the kept path are copies of the source's (mode, owner or
   * --chown, times) when made; an existing one takes the source's mode. BuildKit copies the
   * tree from the pivot with include patterns, making each parent as it meets a match.
   */
  keptParents(m: SourceMatch, destPath: string): void {
    if (m.kept === '') return;
    const base = m.given.slice(0, m.given.length - m.kept.length);
    const parts = m.kept.split('/').slice(0, -1);
    this.mkdirParents(destPath);
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      const real = this.view.resolve(`${base}${rel}`, true);
      const e = real === undefined ? undefined : this.view.stat(real);
      if (e?.type !== 'dir') return;
      const target = resolveScoped(this.o.destRoot, posix.join(destPath, rel));
      if (!this.ensureDir(target, e)) this.modeOnly.push([target, e]);
    }
  }

  excludesFile(m: SourceMatch): boolean {
    return this.excluder?.matches(basename(m.given)) ?? false;
  }

  /** A file or symlink source: into `dest` when it is a directory, else as `dest`. */
  copyLeaf(m: SourceMatch, dest: string, destIsDir: boolean): void {
    this.mkdirParents(posix.dirname(dest));
    // fsutil's Copy resolves the whole destination (fs.RootPath): a symlink there is followed, so
    // the file lands where it points (its missing parents made), and the link itself stays.
    const followed = resolveScoped(this.o.destRoot, dest);
    if (!destIsDir && !isDir(followed)) this.mkdirParents(`/${relative(this.o.destRoot, dirname(followed))}`);
    const target = destIsDir || isDir(followed) ? join(followed, basename(m.given)) : followed;
    this.leaves.push([m.entry, target, this.source]);
  }

  /**
   * A directory source: its contents merge into `dest`. A missing `dest` is made as the
   * directories on its way are (0755, root or --chown), not as a copy of the source directory,
   * whose contents alone are copied (BuildKit testCopyChownExistingDir); with --parents, where the
   * kept path is copied whole (`kept`), it is a copy. An existing `dest` keeps its own metadata; an
   * existing directory below it takes the source directory's (mode, owner, times), as BuildKit's
   * copier (overwriteTargetMetadata).
   */
  copyDirectory(m: SourceMatch, dest: string, kept: boolean): void {
    const top = resolveScoped(this.o.destRoot, dest);
    let created: boolean;
    if (kept) {
      this.mkdirParents(posix.dirname(dest));
      created = this.ensureDir(top, m.entry);
    } else {
      // mkdirParents refuses a non-directory in the way.
      created = !existsSync(top);
      this.mkdirParents(dest);
    }
    // Inside a directory just made, nothing is in the way: no lookup before each mkdir.
    this.view.walk(
      m.entry.rel,
      (e, sub) => {
        const target = join(top, sub);
        if (e.type !== 'dir') this.leaves.push([e, target, this.source]);
        else if (created) this.newDir(target, e);
        else if (!this.ensureDir(target, e)) this.dirs.push([target, e]);
      },
      this.excluder,
    );
  }

  /** Creates a directory unless one is there, recording its metadata for `finish`; true if it did. */
  private ensureDir(path: string, e: TreeEntry): boolean {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      this.newDir(path, e);
      return true;
    }
    if (!st.isDirectory()) throw new FileOpError('E_COPY_DEST', `cannot copy to non-directory: ${this.shown(path)}`);
    return false;
  }

  private newDir(path: string, e: TreeEntry): void {
    mkdirSync(path, { mode: 0o700 });
    this.dirs.push([path, e]);
  }

  async finish(): Promise<void> {
    const slice = new EventLoopSlice(SLICE_MS);
    for (const [e, target, source] of this.leaves) {
      try {
        this.writeLeaf(e, target, source);
      } catch (err) {
        throw this.ioError(err, target);
      }
      if (slice.over) await slice.next();
    }
    // BuildKit's copyDirectoryOnly: the source's own mode, --chmod not applied.
    for (const [path, e] of this.modeOnly) chmodSync(path, e.mode);
    for (const [path, e] of this.dirs.reverse()) {
      const { uid, gid } = this.owner ?? e;
      chownSync(path, uid, gid);
      chmodSync(path, this.modeChange ? this.modeChange(e.mode, true) : e.mode);
      copyXattrsSync(e.path, path);
      utimesSync(path, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
    }
    const t = this.o.createdTime;
    if (t === undefined) return;
    for (const [, target] of this.leaves) this.touched.add(dirname(target));
    for (const [path] of this.dirs) this.touched.add(dirname(path));
    for (const [path] of this.dirs) this.touched.delete(path);
    this.touched.delete(resolve(this.o.destRoot));
    for (const path of this.touched) utimesSync(path, t, t);
  }

  private writeLeaf(e: TreeEntry, target: string, source: number): void {
    if (e.type === 'other') return;
    const { uid, gid } = this.owner ?? e;
    if (e.type === 'symlink') {
      const linkTarget = readlinkSync(e.path);
      this.replace(target, () => symlinkSync(linkTarget, target));
      lchownSync(target, uid, gid);
      lutimesSync(target, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
      return;
    }
    const key = `${source}:${e.dev}:${e.ino}`;
    const first = e.nlink > 1 ? this.linked.get(key) : undefined;
    if (first) {
      this.replace(target, () => linkSync(first, target));
      return;
    }
    this.replace(target, () => copyFileSync(e.path, target, fsc.COPYFILE_FICLONE | fsc.COPYFILE_EXCL));
    this.o.context?.verifyCopied(e, target);
    const chowned = uid !== this.myUid || gid !== this.myGid;
    if (chowned) chownSync(target, uid, gid);
    // copyFile already gave the copy the source's mode; a chown clears set-id bits, though.
    if (this.modeChange || (chowned && (e.mode & 0o6000) !== 0)) chmodSync(target, this.modeChange ? this.modeChange(e.mode, false) : e.mode);
    copyXattrsSync(e.path, target);
    utimesSync(target, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
    if (e.nlink > 1) this.linked.set(key, target);
  }

  /** Runs a create that fails with EEXIST when something is in the way, replacing a non-directory. */
  private replace(target: string, create: () => void): void {
    try {
      create();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (lstatSync(target).isDirectory()) throw new FileOpError('E_COPY_DEST', `cannot overwrite directory ${this.shown(target)} with a non-directory`);
    unlinkSync(target);
    create();
  }

  private shown(path: string): string {
    return `/${path.slice(this.o.destRoot.length).replace(/^\/+/, '')}`;
  }

  private ioError(err: unknown, target: string): KilnError {
    if (isKilnError(err)) return err;
    return new FileOpError('E_COPY_IO', `cannot write ${this.shown(target)}: ${(err as Error).message}`, { cause: err });
  }
}

function isDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

