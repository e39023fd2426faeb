import Database from 'better-sqlite3';
import type { Store } from './store.js';

/**
 * What a file looked like when its content was hashed. Lookups compare every field but `digest`
 * and `recordedNs`; nanosecond times come from `fs.lstat(path, { bigint: true })`.
 */
export interface StatEntry {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
  /** `sha256:<hex>` of the file's bytes. */
  digest: string;
  /** Wall-clock time (ns) taken before the file was read. */
  recordedNs: bigint;
}

export type FileStat = Pick<StatEntry, 'size' | 'mtimeNs' | 'ctimeNs' | 'ino' | 'dev'>;

/**
 * File timestamps come from the kernel's coarse clock, which may lag the wall clock by a tick
 * (a few ms). A file written just after we recorded it could therefore carry an mtime that looks
 * older than the record; treating anything within this margin as racy closes that gap.
 */
const CLOCK_GRANULARITY_NS = 50_000_000n;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS stat_cache (
  root TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, dev INTEGER NOT NULL, digest TEXT NOT NULL,
  recorded_ns INTEGER NOT NULL, PRIMARY KEY (root, path)) WITHOUT ROWID;
`;

/** The current wall-clock time in nanoseconds, for `StatEntry.recordedNs`. */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * True when `entry` may stand in for hashing the file now described by `st`. As git does for
 * racily clean index entries, a record whose file mtime is not clearly older than the moment the
 * record was made is never trusted: the file may have changed again within the same timestamp.
 */
export function entryMatches(entry: StatEntry, st: FileStat): boolean {
  return (
    entry.size === st.size &&
    entry.mtimeNs === st.mtimeNs &&
    entry.ctimeNs === st.ctimeNs &&
    entry.ino === st.ino &&
    entry.dev === st.dev &&
    entry.mtimeNs + CLOCK_GRANULARITY_NS < entry.recordedNs
  );
}

/**
 * The file-stat cache of build contexts, a table in the store's SQLite index: (context root,
 * relative path) -> what the file looked like and its content digest. It has its own connection
 * to the index so it never interferes with the store's statements.
 */
export class StatCache {
  private constructor(private readonly db: Database.Database) {}

  static open(store: Store): StatCache {
    const db = new Database(store.layout.dbPath, { timeout: 30_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    return new StatCache(db);
  }

  /** Every entry recorded under a context root, in one query. */
  load(root: string): Map<string, StatEntry> {
    // Raw rows (arrays) cost a third of what row objects do, which shows at 10,000 entries.
    const rows = this.db
      .prepare('SELECT path, size, mtime_ns, ctime_ns, ino, dev, digest, recorded_ns FROM stat_cache WHERE root = ?')
      .raw(true)
      .safeIntegers(true)
      .all(root) as [string, bigint, bigint, bigint, bigint, bigint, string, bigint][];
    const out = new Map<string, StatEntry>();
    for (const [path, size, mtimeNs, ctimeNs, ino, dev, digest, recordedNs] of rows) out.set(path, { size, mtimeNs, ctimeNs, ino, dev, digest, recordedNs });
    return out;
  }

  /** Records (or replaces) entries in one transaction. */
  record(root: string, entries: Iterable<[path: string, entry: StatEntry]>): void {
    const put = this.db.prepare(
      'INSERT OR REPLACE INTO stat_cache (root, path, size, mtime_ns, ctime_ns, ino, dev, digest, recorded_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const [path, e] of entries) put.run(root, path, e.size, e.mtimeNs, e.ctimeNs, e.ino, e.dev, e.digest, e.recordedNs);
    })();
  }

  /** Drops entries of files that no longer exist under a root. */
  forget(root: string, paths: Iterable<string>): void {
    const del = this.db.prepare('DELETE FROM stat_cache WHERE root = ? AND path = ?');
    this.db.transaction(() => {
      for (const p of paths) del.run(root, p);
    })();
  }

  /** Drops everything recorded (prune --all). */
  clear(): void {
    this.db.exec('DELETE FROM stat_cache');
  }

  close(): void {
    this.db.close();
  }
}
