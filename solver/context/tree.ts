import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join, posix } from 'node:path';
import type { EntryType, FileStat } from '../../cache/index.js';
import { KilnError } from '../../common/errors.js';
import type { PathMatcher } from './ignore.js';

/** One path of a source tree, with what a copy or a checksum needs of it. */
export interface TreeEntry extends FileStat {
  /** Path relative to the tree's root, `/`-separated, no leading slash ('' for the root). */
  rel: string;
  /** Absolute host path. */
  path: string;
  type: EntryType;
  /** Permission and special bits. */
  mode: number;
  uid: number;
  gid: number;
  atimeNs: bigint;
  nlink: number;
}

/**
 * Where walks get a directory's names: `read()` is readdir; a cache may answer instead while the
 * directory (its `TreeEntry`) shows it unchanged.
 */
export interface DirListings {
  names(dir: TreeEntry, read: () => string[]): string[];
}

/**
 * A name that is not valid UTF-8: Node's string paths decode it with U+FFFD and so cannot reach
 * the file, and the cache keys, ignore rules and layer tar writer all take names as strings.
 */
export class InvalidNameError extends KilnError {
  constructor(dirRel: string, raw: Buffer) {
    const shown = `${dirRel === '' ? '' : `${dirRel}/`}${escapeName(raw)}`;
    super('E_CONTEXT_NAME', `cannot copy "${shown}": its name is not valid UTF-8 (bytes ${raw.toString('hex').replace(/(..)(?!$)/g, '$1 ')}), which kiln does not support`, {
      hint: 'rename it, or exclude it in .dockerignore (a pattern with wildcards, such as "bad*", matches it)',
    });
  }
}

/** Printable ASCII as is, every other byte as `\xNN`. */
function escapeName(raw: Buffer): string {
  let out = '';
  for (const b of raw) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

/** The raw bytes of the names in `dir` that Node decoded as `name` and that are not UTF-8. */
function undecodable(dir: string, name: string): Buffer[] {
  let names: Buffer[];
  try {
    names = readdirSync(dir, { encoding: 'buffer' });
  } catch {
    return [];
  }
  return names.filter((raw) => raw.toString() === name && !Buffer.from(raw.toString()).equals(raw));
}

const MAX_LINKS = 40;
const BIGINT = { bigint: true } as const;

function typeOf(st: BigIntStats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

/**
 * A read-only view of a directory tree (the build context, or another stage's root filesystem)
 * in which paths hidden by ignore rules do not exist, and symlinks resolve with the tree's root
 * as `/`, so nothing outside it is ever reached. Synchronous on purpose: a walk of 10,000 small
 * lstat calls is several times faster than the same through the thread pool.
 */
export class TreeView {
  private readonly reincluded = new Map<string, boolean>();

  constructor(
    readonly root: string,
    private readonly hidden?: PathMatcher,
    private readonly listings?: DirListings,
  ) {}

  isHidden(rel: string, type: EntryType): boolean {
    if (!this.hidden || rel === '') return false;
    if (!this.hidden.matches(rel)) return false;
    // An ignored directory is still walked when an exception may re-include something inside,
    // and shows only when something inside does: fsutil's walker emits it only as the parent of
    // an included path, so `dir` with `!dir/keep.txt` and no keep.txt is not in the context.
    return !(type === 'dir' && this.hidden.mayReincludeUnder(rel) && this.showsSomethingIn(rel));
  }

  /** Whether a directory ignore rules hide has anything they re-include; remembered per view. */
  private showsSomethingIn(rel: string): boolean {
    let shows = this.reincluded.get(rel);
    if (shows === undefined) {
      shows = false;
      for (const d of readdirSync(join(this.root, rel), { withFileTypes: true })) {
        const type: EntryType = d.isDirectory() ? 'dir' : d.isFile() ? 'file' : d.isSymbolicLink() ? 'symlink' : 'other';
        if (!this.isHidden(`${rel}/${d.name}`, type)) {
          shows = true;
          break;
        }
      }
      this.reincluded.set(rel, shows);
    }
    return shows;
  }

  /** True when `rel` exists but ignore rules hide it. */
  isIgnored(rel: string): boolean {
    if (!this.hidden || rel === '') return false;
    try {
      return this.isHidden(rel, typeOf(lstatSync(join(this.root, rel), BIGINT)));
    } catch {
      return false;
    }
  }

  /** The entry at `rel` (not following a final symlink), or undefined when missing or hidden. */
  stat(rel: string): TreeEntry | undefined {
    const path = rel === '' ? this.root : join(this.root, rel);
    let st: BigIntStats;
    try {
      st = lstatSync(path, BIGINT);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A glob matched a name Node could not decode: refused, not silently missing.
      const name = rel.slice(rel.lastIndexOf('/') + 1);
      const raw = code === 'ENOENT' && name.includes('\uFFFD') ? undecodable(posix.dirname(path), name)[0] : undefined;
      if (raw !== undefined) throw new InvalidNameError(rel.slice(0, Math.max(0, rel.lastIndexOf('/'))), raw);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw e;
    }
    const type = typeOf(st);
    if (this.isHidden(rel, type)) return undefined;
    return entryOf(rel, path, st, type);
  }

  readlink(rel: string): string {
    return readlinkSync(join(this.root, rel));
  }

  /** Visible child names of a directory, sorted. */
  list(rel: string): string[] {
    const dir = rel === '' ? this.root : join(this.root, rel);
    const out: string[] = [];
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const childRel = rel === '' ? d.name : `${rel}/${d.name}`;
      const type: EntryType = d.isDirectory() ? 'dir' : d.isFile() ? 'file' : d.isSymbolicLink() ? 'symlink' : 'other';
      if (!this.isHidden(childRel, type)) out.push(d.name);
    }
    return out.sort();
  }

  /**
   * Resolves `rel` through symlinks inside the tree (absolute targets and `..` stay inside the
   * root). With `followFinal` false a final symlink is returned itself. Undefined when a component
   * is missing or hidden.
   */
  resolve(rel: string, followFinal: boolean): string | undefined {
    const pending = rel.split('/').filter((p) => p !== '' && p !== '.');
    const done: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '..') {
        done.pop();
        continue;
      }
      const cur = [...done, part].join('/');
      const e = this.stat(cur);
      if (!e) return undefined;
      if (e.type !== 'symlink' || (!followFinal && pending.length === 0)) {
        done.push(part);
        continue;
      }
      if (++links > MAX_LINKS) return undefined;
      const target = this.readlink(cur);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
    }
    return done.join('/');
  }

  /**
   * Visits every visible entry below `rel` (not `rel` itself) in pre-order (siblings in directory
   * order: checksums sort their keys, copies do not care). `exclude`
   * patterns are matched against the path relative to `rel`; an excluded directory is skipped
   * whole unless the patterns have exceptions.
   */
  walk(rel: string, visit: (e: TreeEntry, relToBase: string) => void, exclude?: PathMatcher): void {
    const recurse = (dir: TreeEntry, sub: string) => {
      const dirRel = dir.rel;
      const dirPath = dir.path;
      // Names are single path segments, so plain concatenation is the join (path.join normalises, at a cost per entry).
      const prefix = dirPath.endsWith('/') ? dirPath : `${dirPath}/`;
      // Every child is lstat'ed anyway (its times and owner are needed), so readdir's file types would add nothing.
      const read = () => readdirSync(dirPath);
      for (const name of this.listings && dir.type === 'dir' ? this.listings.names(dir, read) : read()) {
        const childRel = dirRel === '' ? name : `${dirRel}/${name}`;
        const childSub = sub === '' ? name : `${sub}/${name}`;
        const path = prefix + name;
        let st: BigIntStats;
        try {
          st = lstatSync(path, BIGINT);
        } catch (e) {
          const raw = (e as NodeJS.ErrnoException).code === 'ENOENT' && name.includes('\uFFFD') ? undecodable(dirPath, name)[0] : undefined;
          if (raw === undefined) throw e;
          // Ignored or excluded, it is skipped quietly, whatever its type: its bytes are never needed.
          if (this.isHidden(childRel, 'file') || (exclude?.matches(childSub) ?? false)) continue;
          throw new InvalidNameError(dirRel, raw);
        }
        const type = typeOf(st);
        if (this.isHidden(childRel, type)) continue;
        const excluded = exclude?.matches(childSub) ?? false;
        if (excluded && !(type === 'dir' && exclude!.mayReincludeUnder(childSub))) continue;
        const entry = entryOf(childRel, path, st, type);
        if (!excluded) visit(entry, childSub);
        if (type === 'dir') recurse(entry, childSub);
      }
    };
    const start = rel === '' ? this.root : join(this.root, rel);
    const st = lstatSync(start, BIGINT);
    recurse(entryOf(rel, start, st, typeOf(st)), '');
  }
}

function entryOf(rel: string, path: string, st: BigIntStats, type: EntryType): TreeEntry {
  return {
    rel,
    path,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: st.size,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    atimeNs: st.atimeNs,
    ino: st.ino,
    dev: st.dev,
    nlink: Number(st.nlink),
  };
}

/** A time in nanoseconds as the seconds utimes takes, to the microsecond. */
export function nsToSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}

/** Cleans a user-given source or dest path to a root-relative one: `/a/../b/` -> `b`. */
export function cleanRel(p: string): string {
  return posix.normalize(`/${p}`).replace(/^\/+/, '').replace(/\/+$/, '');
}
