import Database from 'better-sqlite3';
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
 * File timestamps come from the kernel's coarse clock, which may lag the wall clock by a tick
 * (a few ms). A file written just after we recorded it could therefore carry an mtime that looks
 * older than the record; treating anything within this margin as racy closes that gap.
 */
const CLOCK_GRANULARITY_NS = 50_000_000n;

/** BigInt64 slots per entry in a snapshot's `stats` blob. */
const SLOTS = 9;

// One row per context root: reading 10,000 files' records as one blob costs a fraction of reading
// them as 10,000 rows, and a no-op rebuild reads them all. The old per-file table is dropped.
const SCHEMA = `
DROP TABLE IF EXISTS stat_cache;
CREATE TABLE IF NOT EXISTS context_stats (
  root TEXT PRIMARY KEY,
  names TEXT NOT NULL,
  stats BLOB NOT NULL
) WITHOUT ROWID;
`;

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
  return (
    entry.size === st.size &&
    entry.mtimeNs === st.mtimeNs &&
    entry.ctimeNs === st.ctimeNs &&
    entry.ino === st.ino &&
    entry.dev === st.dev &&
    entry.mode === st.mode &&
    entry.uid === st.uid &&
    entry.gid === st.gid &&
    entry.mtimeNs + CLOCK_GRANULARITY_NS < entry.recordedNs &&
    entry.ctimeNs + CLOCK_GRANULARITY_NS < entry.recordedNs
  );
}

/**
 * The file-stat cache of build contexts, kept in the store's SQLite index as one snapshot per
 * context root: relative path -> what the file looked like and its digests. It has its own
 * connection to the index so it never interferes with the store's statements.
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

  /** Every entry recorded under a context root. */
  load(root: string): Map<string, StatEntry> {
    const out = new Map<string, StatEntry>();
    const row = this.db.prepare('SELECT names, stats FROM context_stats WHERE root = ?').raw(true).get(root) as [string, Buffer] | undefined;
    if (!row) return out;
    const names = JSON.parse(row[0]) as string[];
    const n = names.length / 3;
    const blob = row[1];
    if (blob.byteLength !== n * SLOTS * 8) return out;
    // A typed array view needs 8-byte alignment; the driver's buffer may not have it.
    const nums = blob.byteOffset % 8 === 0 ? new BigInt64Array(blob.buffer, blob.byteOffset, n * SLOTS) : new BigInt64Array(Uint8Array.from(blob).buffer);
    for (let i = 0, j = 0; i < n; i++, j += SLOTS) {
      out.set(names[3 * i]!, {
        size: nums[j]!,
        mtimeNs: nums[j + 1]!,
        ctimeNs: nums[j + 2]!,
        ino: nums[j + 3]!,
        dev: nums[j + 4]!,
        recordedNs: nums[j + 5]!,
        mode: Number(nums[j + 6]!),
        uid: Number(nums[j + 7]!),
        gid: Number(nums[j + 8]!),
        digest: names[3 * i + 1]!,
        entryDigest: names[3 * i + 2]!,
      });
    }
    return out;
  }

  /** Replaces what is recorded under a context root with `entries`, atomically. */
  save(root: string, entries: ReadonlyMap<string, StatEntry>): void {
    const names: string[] = [];
    const nums = new BigInt64Array(entries.size * SLOTS);
    let j = 0;
    for (const [path, e] of entries) {
      names.push(path, e.digest, e.entryDigest);
      nums.set([e.size, e.mtimeNs, e.ctimeNs, e.ino, e.dev, e.recordedNs, BigInt(e.mode), BigInt(e.uid), BigInt(e.gid)], j);
      j += SLOTS;
    }
    this.db.prepare('INSERT OR REPLACE INTO context_stats (root, names, stats) VALUES (?, ?, ?)').run(root, JSON.stringify(names), Buffer.from(nums.buffer));
  }

  /** Drops everything recorded (prune --all). */
  clear(): void {
    this.db.exec('DELETE FROM context_stats');
  }

  close(): void {
    this.db.close();
  }
}
