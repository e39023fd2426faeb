import { constants as fsc, lstatSync, mkdirSync } from 'node:fs';
import { chmod, chown, copyFile, lchown, link, lstat, lutimes, readlink, symlink, unlink, utimes } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import PQueue from 'p-queue';
import { compileMatcher, selectSources, TreeView, type BuildContext, type PathMatcher, type SourceMatch, type TreeEntry } from '../context/index.js';
import { parseChmod, type ModeChange } from './chmod.js';
import { FileOpError } from './errors.js';
import { mkdirAllScoped, resolveScoped, type Owner } from './scoped-path.js';

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
}

/** Number of files copied at once: enough to keep the thread pool and the disk busy. */
const COPY_CONCURRENCY = 16;

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
  if (o.sources.length > 1 && !destIsDirectory(o.dest)) {
    throw new FileOpError('E_COPY_DEST', 'When using COPY with more than one source file, the destination must be a directory and end with a /');
  }
  const view = o.context ? o.context.view : new TreeView(o.sourceRoot);
  const matches = selectSources(view, o.sources);
  await copyMatches(view, matches, o);
}

/** Copies already-selected sources; shared by COPY, ADD and heredoc sources. */
export async function copyMatches(view: TreeView, matches: SourceMatch[], o: Omit<CopyOptions, 'sources' | 'sourceRoot'>): Promise<void> {
  const job = new CopyJob(view, o);
  const destPath = absoluteDest(o.dest, o.workdir);
  const intoDir = destIsDirectory(o.dest) || Boolean(o.parents);
  if (intoDir) mkdirAllScoped(o.destRoot, destPath, 0o755, o.chown);
  for (const m of matches) {
    const target = o.parents ? posix.join(destPath, m.kept) : destPath;
    if (m.entry.type === 'dir') {
      job.copyDirectory(m, target);
    } else if (!job.excludesFile(m)) {
      job.copyLeaf(m, target, intoDir && !o.parents);
    }
  }
  await job.finish();
}

class CopyJob {
  private readonly modeChange: ModeChange | undefined;
  /** Who owns what we write; undefined keeps the source's owner. */
  private readonly owner: Owner | undefined;
  private readonly queue = new PQueue({ concurrency: COPY_CONCURRENCY });
  private readonly pending: Promise<unknown>[] = [];
  /** Directories whose metadata is set last, so writing their contents does not disturb it. */
  private readonly dirs: [string, TreeEntry][] = [];
  /** First copy of each multiply-linked inode, so later names become hard links to it. */
  private readonly linked = new Map<string, Promise<string>>();
  /** `--exclude`, matched relative to each directory source and against a file source's name. */
  private readonly excluder: PathMatcher | undefined;

  constructor(
    private readonly view: TreeView,
    private readonly o: Omit<CopyOptions, 'sources' | 'sourceRoot'>,
  ) {
    this.modeChange = o.chmod ? parseChmod(o.chmod) : undefined;
    this.owner = o.chown ?? (o.context ? { uid: 0, gid: 0 } : undefined);
    this.excluder = o.exclude && o.exclude.length > 0 ? compileMatcher(o.exclude) : undefined;
  }

  excludesFile(m: SourceMatch): boolean {
    return this.excluder?.matches(basename(m.given)) ?? false;
  }

  /** A file or symlink source: into `dest` when it is a directory, else as `dest`. */
  copyLeaf(m: SourceMatch, dest: string, destIsDir: boolean): void {
    const parent = posix.dirname(dest);
    mkdirAllScoped(this.o.destRoot, parent, 0o755, this.o.chown);
    let target: string;
    const followed = resolveScoped(this.o.destRoot, dest);
    if (destIsDir || isDir(followed)) target = join(followed, basename(m.given));
    else target = resolveScoped(this.o.destRoot, dest, false);
    this.leaf(m.entry, target);
  }

  /** A directory source: its contents merge into `dest`, created with the source's metadata if missing. */
  copyDirectory(m: SourceMatch, dest: string): void {
    mkdirAllScoped(this.o.destRoot, posix.dirname(dest), 0o755, this.o.chown);
    const top = resolveScoped(this.o.destRoot, dest);
    // An existing destination directory keeps its own metadata, as in BuildKit.
    this.ensureDir(top, m.entry);
    this.view.walk(
      m.entry.rel,
      (e, sub) => {
        const target = join(top, sub);
        if (e.type === 'dir') this.ensureDir(target, e);
        else this.leaf(e, target);
      },
      this.excluder,
    );
  }

  /** Creates a directory (recording its metadata for later); false when it already existed. */
  private ensureDir(path: string, e: TreeEntry): boolean {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      mkdirSync(path, { mode: 0o700 });
      this.dirs.push([path, e]);
      return true;
    }
    if (!st.isDirectory()) throw new FileOpError('E_COPY_DEST', `cannot copy to non-directory: ${this.shown(path)}`);
    return false;
  }

  private leaf(e: TreeEntry, target: string): void {
    if (e.type === 'other') return;
    const key = `${e.dev}:${e.ino}`;
    if (e.type === 'file' && e.nlink > 1) {
      const first = this.linked.get(key);
      if (first) {
        this.pending.push(first.then((src) => this.queue.add(() => this.writeLink(src, target))));
        return;
      }
      const done = this.queue.add(() => this.writeFile(e, target)).then(() => target);
      this.linked.set(key, done);
      this.pending.push(done);
      return;
    }
    this.pending.push(this.queue.add(() => (e.type === 'symlink' ? this.writeSymlink(e, target) : this.writeFile(e, target))));
  }

  private async writeFile(e: TreeEntry, target: string): Promise<void> {
    await this.replace(target, () => copyFile(e.path, target, fsc.COPYFILE_FICLONE | fsc.COPYFILE_EXCL));
    const { uid, gid } = this.owner ?? e;
    if (uid !== process.getuid?.() || gid !== process.getgid?.()) await chown(target, uid, gid);
    await chmod(target, this.modeChange ? this.modeChange(e.mode, false) : e.mode);
    await utimes(target, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
  }

  private async writeSymlink(e: TreeEntry, target: string): Promise<void> {
    const linkTarget = await readlink(e.path);
    await this.replace(target, () => symlink(linkTarget, target));
    const { uid, gid } = this.owner ?? e;
    await lchown(target, uid, gid);
    await lutimes(target, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
  }

  private async writeLink(existing: string, target: string): Promise<void> {
    await this.replace(target, () => link(existing, target));
  }

  /** Runs a create that fails with EEXIST when something is in the way, replacing a non-directory. */
  private async replace(target: string, create: () => Promise<void>): Promise<void> {
    try {
      await create();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw this.ioError(err, target);
    }
    const st = await lstat(target);
    if (st.isDirectory()) throw new FileOpError('E_COPY_DEST', `cannot overwrite directory ${this.shown(target)} with a non-directory`);
    await unlink(target);
    try {
      await create();
    } catch (err) {
      throw this.ioError(err, target);
    }
  }

  async finish(): Promise<void> {
    const results = await Promise.allSettled(this.pending);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const [path, e] of this.dirs.reverse()) {
      const { uid, gid } = this.owner ?? e;
      await chown(path, uid, gid);
      await chmod(path, this.modeChange ? this.modeChange(e.mode, true) : e.mode);
      await utimes(path, nsToSeconds(e.atimeNs), nsToSeconds(e.mtimeNs));
    }
  }

  private shown(path: string): string {
    return `/${path.slice(this.o.destRoot.length).replace(/^\/+/, '')}`;
  }

  private ioError(err: unknown, target: string): FileOpError {
    if (err instanceof FileOpError) return err;
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

function nsToSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}
