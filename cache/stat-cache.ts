import type Database from 'better-sqlite3';
import { openSqlite } from './sqlite.js';
import type { Store } from './store.js';

/**
 * What a file looked like when its content was hashed, and the digests computed then. Lookups
 * compare every stat field; nanosecond times come from `fs.lstat(path, { bigint: true })`.
 */
export interface StatEntry {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
  /** Permission bits and owner: part of what COPY reproduces, so part of `entryDigest`. */
  mode: number;
  uid: number;
  gid: number;
  /** `sha256:<hex>` of the file's bytes. */
  digest: string;
  /** `entryDigest()` of the file as COPY would reproduce it (content, mode, owner). */
  entryDigest: string;
  /** Wall-clock time (ns) taken before the file was read. */
  recordedNs: bigint;
}

export type FileStat = Pick<StatEntry, 'size' | 'mtimeNs' | 'ctimeNs' | 'ino' | 'dev' | 'mode' | 'uid' | 'gid'>;

/**
 * A directory's names as read at `recordedNs`. Adding, removing or renaming an entry moves the
 * directory's mtime and ctime, so while they match (and are not racy) the names are still right
 * and the directory need not be read again.
 */
export interface DirEntry {
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
  names: string[];
  recordedNs: bigint;
}

export type DirStat = Pick<DirEntry, 'mtimeNs' | 'ctimeNs' | 'ino' | 'dev'>;

/** What the stat cache holds for one context root (paths relative to it). */
export interface ContextStats {
  files: FileRecords;
  dirs: Map<string, DirEntry>;
  /** Records (files and directories) in the stored snapshot these were loaded from. */
  snapshotSize?: number;
}

/**
 * A root's directory records as loaded, noting which differ from the stored snapshot (changed or
 * removed since) so that StatCache.save can store only those.
 */
export class DirRecords extends Map<string, DirEntry> {
  readonly changed = new Set<string>();
  readonly removed = new Set<string>();

  /** A record as stored in the snapshot: not a change. */
  loadStored(rel: string, entry: DirEntry): void {
    super.set(rel, entry);
  }

  override set(rel: string, entry: DirEntry): this {
    super.set(rel, entry);
    this.changed.add(rel);
    return this;
  }

  override delete(rel: string): boolean {
    if (!super.delete(rel)) return false;
    this.changed.delete(rel);
    this.removed.add(rel);
    return true;
  }
}

/**
 * A root's file records. Those loaded stay as they were read (a path's slot in the packed numbers
 * and strings) and become a StatEntry only for the moment a caller looks at them: a no-op rebuild
 * of 10,000 files then keeps 10,000 map entries alive instead of 10,000 objects of nine BigInts,
 * which the garbage collector copied again and again while the context was walked.
 */
export class FileRecords implements Iterable<[string, StatEntry]> {
  private readonly packed = new Map<string, number>();
  private readonly added = new Map<string, StatEntry>();
  /** Paths of the stored snapshot no longer read from it (replaced or gone): what a delta must drop. */
  readonly removed = new Set<string>();

  /** `nums` from `start` holds SLOTS numbers per file, `fields` three strings per file (path, digest, entryDigest). */
  constructor(
    private readonly nums: BigInt64Array = new BigInt64Array(0),
    private readonly fields: readonly string[] = [],
    count = 0,
    private readonly start = 0,
  ) {
    for (let i = 0; i < count; i++) this.packed.set(fields[3 * i]!, i);
  }

  get size(): number {
    return this.packed.size + this.added.size;
  }

  get(rel: string): StatEntry | undefined {
    const i = this.packed.get(rel);
    return i === undefined ? this.added.get(rel) : this.unpack(i);
  }

  /**
   * Whether the record for `rel` vouches for the file as it now is (entryMatches), compared in
   * place: unpacking every record of a no-op rebuild into a StatEntry made 10,000 objects for
   * the garbage collector.
   */
  vouchesFor(rel: string, st: FileStat): boolean {
    const i = this.packed.get(rel);
    if (i === undefined) {
      const e = this.added.get(rel);
      return e !== undefined && entryMatches(e, st);
    }
    const n = this.nums;
    const j = this.start + i * SLOTS;
    return (
      n[j] === st.size &&
      n[j + 1] === st.mtimeNs &&
      n[j + 2] === st.ctimeNs &&
      n[j + 3] === st.ino &&
      n[j + 4] === st.dev &&
      Number(n[j + 6]) === st.mode &&
      Number(n[j + 7]) === st.uid &&
      Number(n[j + 8]) === st.gid &&
      settled(st.mtimeNs, st.ctimeNs, n[j + 5]!)
    );
  }

  /** The digests recorded for `rel`, without unpacking its numbers (a checksum wants only these). */
  digests(rel: string): Pick<StatEntry, 'digest' | 'entryDigest'> | undefined {
    const i = this.packed.get(rel);
    if (i !== undefined) return { digest: this.fields[3 * i + 1]!, entryDigest: this.fields[3 * i + 2]! };
    const e = this.added.get(rel);
    return e && { digest: e.digest, entryDigest: e.entryDigest };
  }

  set(rel: string, entry: StatEntry): void {
    if (this.packed.delete(rel)) this.removed.add(rel);
    this.added.set(rel, entry);
  }

  delete(rel: string): boolean {
    if (this.packed.delete(rel)) {
      this.removed.add(rel);
      return true;
    }
    return this.added.delete(rel);
  }

  /** Records set or removed since the stored snapshot was read. */
  get changes(): number {
    return this.added.size + this.removed.size;
  }

  /** The records set since the stored snapshot was read. */
  changed(): IterableIterator<[string, StatEntry]> {
    return this.added.entries();
  }

  *keys(): IterableIterator<string> {
    yield* this.packed.keys();
    yield* this.added.keys();
  }

  *[Symbol.iterator](): IterableIterator<[string, StatEntry]> {
    for (const [rel, i] of this.packed) yield [rel, this.unpack(i)];
    yield* this.added;
  }

  /**
   * Lays every record out as StatCache.save stores them, from slot `at` of `nums` and at the end of
   * `fields`; returns the slot after the last. Records as loaded are copied slot for slot: making
   * each a StatEntry again cost a 10,000-file context's one-file-change rebuild ~20 ms.
   */
  writeTo(nums: BigInt64Array, at: number, fields: string[]): number {
    for (const [rel, i] of this.packed) {
      fields.push(rel, this.fields[3 * i + 1]!, this.fields[3 * i + 2]!);
      const from = this.start + i * SLOTS;
      nums.set(this.nums.subarray(from, from + SLOTS), at);
      at += SLOTS;
    }
    return writeFiles(this.added, nums, at, fields);
  }

  private unpack(i: number): StatEntry {
    return fileAt(this.nums, this.start + i * SLOTS, this.fields[3 * i + 1]!, this.fields[3 * i + 2]!);
  }
}

/**
 * File timestamps come from the kernel's coarse clock, which may lag the wall clock by a tick
 * (a few ms). A file written just after we recorded it could therefore carry an mtime that looks
 * older than the record; treating anything within this margin as racy closes that gap.
 */
const CLOCK_GRANULARITY_NS = 50_000_000n;

/** BigInt64 slots per file and per directory in a snapshot's `stats` blob, after its header. */
const SLOTS = 9;
const DIR_SLOTS = 5;
/** A snapshot's blob starts with the number of files and of directories. */
const HEADER_SLOTS = 2;
/** A delta's also with the number of files and of directories it removes. */
const DELTA_HEADER_SLOTS = 4;
/**
 * Changes are saved as a delta while they are at most this fraction of the stored snapshot:
 * rewriting a 10,000-file context's snapshot for one changed file took 15-30 ms at the end of
 * every such rebuild, and loading a small delta over it costs next to nothing.
 */
const DELTA_SHARE = 8;

// One row per context root: reading 10,000 files' records as one blob costs a fraction of reading
// them as 10,000 rows, and a no-op rebuild reads them all. The strings are one text of NUL-separated
// fields (no path or name holds a NUL, and no name a '/', which joins a directory's names):
// splitting it takes a fraction of what parsing the same strings as JSON did. A root's delta row
// holds the records changed since its snapshot and the paths removed from it; a snapshot saved
// whole drops the delta. Older layouts are dropped.
const SCHEMA = `
DROP TABLE IF EXISTS stat_cache;
DROP TABLE IF EXISTS context_stats;
DROP TABLE IF EXISTS context_stats_v2;
CREATE TABLE IF NOT EXISTS context_stats_v3 (
  root TEXT PRIMARY KEY,
  names TEXT NOT NULL,
  stats BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS context_stats_v3_delta (
  root TEXT PRIMARY KEY,
  names TEXT NOT NULL,
  stats BLOB NOT NULL
) WITHOUT ROWID;
`;

/** A stored blob as 64-bit numbers; a typed array view needs 8-byte alignment, which the driver's buffer may not have. */
function numbersOf(blob: Buffer): BigInt64Array {
  return blob.byteOffset % 8 === 0 ? new BigInt64Array(blob.buffer, blob.byteOffset, blob.byteLength >> 3) : new BigInt64Array(Uint8Array.from(blob).buffer);
}

function dirAt(nums: BigInt64Array, j: number, names: string): DirEntry {
  return { mtimeNs: nums[j]!, ctimeNs: nums[j + 1]!, ino: nums[j + 2]!, dev: nums[j + 3]!, recordedNs: nums[j + 4]!, names: names === '' ? [] : names.split('/') };
}

function fileAt(nums: BigInt64Array, j: number, digest: string, entryDigest: string): StatEntry {
  return {
    size: nums[j]!,
    mtimeNs: nums[j + 1]!,
    ctimeNs: nums[j + 2]!,
    ino: nums[j + 3]!,
    dev: nums[j + 4]!,
    recordedNs: nums[j + 5]!,
    mode: Number(nums[j + 6]!),
    uid: Number(nums[j + 7]!),
    gid: Number(nums[j + 8]!),
    digest,
    entryDigest,
  };
}

/** Lays file records out as a blob stores them, from slot `at` of `nums` and at the end of `fields`; returns the slot after the last. */
function writeFiles(records: Iterable<readonly [string, StatEntry]>, nums: BigInt64Array, at: number, fields: string[]): number {
  for (const [rel, e] of records) {
    fields.push(rel, e.digest, e.entryDigest);
    nums.set([e.size, e.mtimeNs, e.ctimeNs, e.ino, e.dev, e.recordedNs, BigInt(e.mode), BigInt(e.uid), BigInt(e.gid)], at);
    at += SLOTS;
  }
  return at;
}

/** The same for directory records. */
function writeDirs(records: Iterable<readonly [string, DirEntry]>, nums: BigInt64Array, at: number, fields: string[]): number {
  for (const [rel, d] of records) {
    fields.push(rel, d.names.join('/'));
    nums.set([d.mtimeNs, d.ctimeNs, d.ino, d.dev, d.recordedNs], at);
    at += DIR_SLOTS;
  }
  return at;
}

/** The current wall-clock time in nanoseconds, for `StatEntry.recordedNs`. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * True when `entry` may stand in for hashing the file now described by `st`. As git does for
 * racily clean index entries, a record whose file mtime or ctime is not clearly older than the
 * moment the record was made is never trusted: the file may have changed again within the same
 * timestamp (ctime too, because `touch -d` can set mtime back but ctime always moves to now).
 */
export function entryMatches(entry: StatEntry, st: FileStat): boolean {
  return statMatches(entry, st) && notRacy(entry);
}

/**
 * True when `st` is the stat `entry` recorded, racy or not: the file is unchanged only if the
 * record is not racy too (`entryMatches`).
 */
export function statMatches(entry: StatEntry, st: FileStat): boolean {
  return (
    entry.size === st.size &&
    entry.mtimeNs === st.mtimeNs &&
    entry.ctimeNs === st.ctimeNs &&
    entry.ino === st.ino &&
    entry.dev === st.dev &&
    entry.mode === st.mode &&
    entry.uid === st.uid &&
    entry.gid === st.gid
  );
}

function notRacy(entry: { mtimeNs: bigint; ctimeNs: bigint; recordedNs: bigint }): boolean {
  return settled(entry.mtimeNs, entry.ctimeNs, entry.recordedNs);
}

/** Both times clearly older than the moment of recording (see entryMatches). */
function settled(mtimeNs: bigint, ctimeNs: bigint, recordedNs: bigint): boolean {
  return mtimeNs + CLOCK_GRANULARITY_NS < recordedNs && ctimeNs + CLOCK_GRANULARITY_NS < recordedNs;
}

/** True when the directory described by `st` still holds exactly `entry.names` (same rule as files). */
export function dirMatches(entry: DirEntry, st: DirStat): boolean {
  return entry.mtimeNs === st.mtimeNs && entry.ctimeNs === st.ctimeNs && entry.ino === st.ino && entry.dev === st.dev && notRacy(entry);
}

/**
 * The file-stat cache of build contexts, kept in the store's SQLite index as one snapshot per
 * context root: relative path -> what the file looked like and its digests. It has its own
 * connection to the index so it never interferes with the store's statements.
 */
export class StatCache {
  private constructor(private readonly db: Database.Database) {}

  static open(store: Store): StatCache {
    const db = openSqlite(store.layout.dbPath, { timeout: 30_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    return new StatCache(db);
  }

  /** Everything recorded under a context root: its snapshot with its delta applied. */
  load(root: string): ContextStats {
    const stats = this.loadSnapshot(root);
    if (!stats) return { files: new FileRecords(), dirs: new DirRecords() };
    const delta = this.db.prepare('SELECT names, stats FROM context_stats_v3_delta WHERE root = ?').raw(true).get(root) as [string, Buffer] | undefined;
    if (delta) applyDelta(stats, delta[0], numbersOf(delta[1]));
    return stats;
  }

  private loadSnapshot(root: string): ContextStats | undefined {
    const row = this.db.prepare('SELECT names, stats FROM context_stats_v3 WHERE root = ?').raw(true).get(root) as [string, Buffer] | undefined;
    if (!row) return undefined;
    const nums = numbersOf(row[1]);
    if (nums.length < HEADER_SLOTS) return undefined;
    const nFiles = Number(nums[0]);
    const nDirs = Number(nums[1]);
    // files: path, digest, entryDigest; then dirs: path, names joined by '/'
    const fields = row[0].split('\0');
    if (nums.length !== HEADER_SLOTS + nFiles * SLOTS + nDirs * DIR_SLOTS || fields.length !== Math.max(1, 3 * nFiles + 2 * nDirs)) return undefined;
    const dirs = new DirRecords();
    for (let i = 0, j = HEADER_SLOTS + nFiles * SLOTS, f = 3 * nFiles; i < nDirs; i++, j += DIR_SLOTS, f += 2) dirs.loadStored(fields[f]!, dirAt(nums, j, fields[f + 1]!));
    return { files: new FileRecords(nums, fields, nFiles, HEADER_SLOTS), dirs, snapshotSize: nFiles + nDirs };
  }

  /**
   * Stores `stats` for a context root, atomically: only what changed since its snapshot was
   * loaded (a delta) while that is small beside the snapshot, else the whole snapshot. A delta
   * holds every change since the loaded snapshot, so it is right over any later one too (another
   * build's, or this one's if saved again); and whatever it restores, each record is checked
   * against the file's stat before it is trusted.
   */
  save(root: string, stats: ContextStats): void {
    const dirs = stats.dirs instanceof DirRecords ? stats.dirs : undefined;
    if (stats.snapshotSize !== undefined && dirs && (stats.files.changes + dirs.changed.size + dirs.removed.size) * DELTA_SHARE <= stats.snapshotSize) {
      const [names, blob] = encodeDelta(stats.files, dirs);
      this.db.prepare('INSERT OR REPLACE INTO context_stats_v3_delta (root, names, stats) VALUES (?, ?, ?)').run(root, names, blob);
      return;
    }
    const fields: string[] = [];
    const nums = new BigInt64Array(HEADER_SLOTS + stats.files.size * SLOTS + stats.dirs.size * DIR_SLOTS);
    nums[0] = BigInt(stats.files.size);
    nums[1] = BigInt(stats.dirs.size);
    writeDirs(stats.dirs, nums, stats.files.writeTo(nums, HEADER_SLOTS, fields), fields);
    this.db.transaction(() => {
      this.db.prepare('INSERT OR REPLACE INTO context_stats_v3 (root, names, stats) VALUES (?, ?, ?)').run(root, fields.join('\0'), Buffer.from(nums.buffer));
      this.db.prepare('DELETE FROM context_stats_v3_delta WHERE root = ?').run(root);
    })();
  }

  /** Drops everything recorded (prune --all). */
  clear(): void {
    this.db.exec('DELETE FROM context_stats_v3; DELETE FROM context_stats_v3_delta');
  }

  close(): void {
    this.db.close();
  }
}

/** Applies a delta row (see encodeDelta) to a snapshot just loaded; its changes then count as the snapshot's own removals and additions. */
function applyDelta(stats: ContextStats, names: string, nums: BigInt64Array): void {
  if (nums.length < DELTA_HEADER_SLOTS) return;
  const nFiles = Number(nums[0]);
  const nDirs = Number(nums[1]);
  const nGoneFiles = Number(nums[2]);
  const nGoneDirs = Number(nums[3]);
  const fields = names.split('\0');
  if (nums.length !== DELTA_HEADER_SLOTS + nFiles * SLOTS + nDirs * DIR_SLOTS || fields.length !== Math.max(1, 3 * nFiles + 2 * nDirs + nGoneFiles + nGoneDirs)) return;
  let f = 3 * nFiles + 2 * nDirs;
  for (let i = 0; i < nGoneFiles; i++) stats.files.delete(fields[f++]!);
  for (let i = 0; i < nGoneDirs; i++) stats.dirs.delete(fields[f++]!);
  for (let i = 0, j = DELTA_HEADER_SLOTS; i < nFiles; i++, j += SLOTS) stats.files.set(fields[3 * i]!, fileAt(nums, j, fields[3 * i + 1]!, fields[3 * i + 2]!));
  for (let i = 0, j = DELTA_HEADER_SLOTS + nFiles * SLOTS, k = 3 * nFiles; i < nDirs; i++, j += DIR_SLOTS, k += 2) stats.dirs.set(fields[k]!, dirAt(nums, j, fields[k + 1]!));
}

/** The records changed since the snapshot and the paths removed from it, as a delta row's names and blob. */
function encodeDelta(files: FileRecords, dirs: DirRecords): [string, Buffer] {
  const changedFiles = [...files.changed()];
  const changedDirs = [...dirs.changed].map((rel) => [rel, dirs.get(rel)!] as const);
  const nums = new BigInt64Array(DELTA_HEADER_SLOTS + changedFiles.length * SLOTS + changedDirs.length * DIR_SLOTS);
  nums.set([BigInt(changedFiles.length), BigInt(changedDirs.length), BigInt(files.removed.size), BigInt(dirs.removed.size)]);
  const fields: string[] = [];
  writeDirs(changedDirs, nums, writeFiles(changedFiles, nums, DELTA_HEADER_SLOTS, fields), fields);
  fields.push(...files.removed, ...dirs.removed);
  return [fields.join('\0'), Buffer.from(nums.buffer)];
}
