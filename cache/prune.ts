import type Database from 'better-sqlite3';
import { existsSync, lstatSync, readdirSync, renameSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DiskUsageCounter } from '../common/disk-usage.js';
import { KilnError } from '../common/errors.js';
import { removeInBackground } from './discard.js';
import { processAlive } from './process-alive.js';
import { openSqlite } from './sqlite.js';
import type { Store } from './store.js';
import { StatCache } from './stat-cache.js';

/** The automatic GC's default budget for a state root. */
export const DEFAULT_GC_BUDGET = 10 * 1024 ** 3;
/**
 * Below this share of the budget the index's own sizes decide that no GC is due: what they miss
 * (dirs of builds still running, a crash's leftovers) is far less than the rest.
 */
const INDEXED_MARGIN = 0.9;

export interface UsageKind {
  count: number;
  bytes: number;
  reclaimableBytes: number;
}

export interface DiskUsage {
  blobs: UsageKind;
  /** Extracted layers (overlay lower dirs). */
  snapshots: UsageKind;
  /** `RUN --mount=type=cache` directories; only `prune --all` removes them. */
  cacheMounts: UsageKind;
  cacheRecords: number;
  totalBytes: number;
}

export interface PruneOptions {
  /** Every build cache record, cache mounts and the stat cache; otherwise only records no image uses. */
  all?: boolean;
  /** Stop once blobs and snapshots fit in this many bytes (least recently used go first). */
  keepStorage?: number;
  /** Only records not used for this many milliseconds. */
  olderThanMs?: number;
  /**
   * Delete swept snapshot dirs with a detached `rm` instead of waiting for it: the GC that ends a
   * build, which should not make the build wait while gigabytes of layers are deleted.
   */
  background?: boolean;
}

export interface PruneResult {
  removedRecords: number;
  removedBlobs: number;
  removedSnapshots: number;
  removedCacheMounts: number;
  freedBytes: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS cache_record_use (key TEXT PRIMARY KEY, used_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gc_count (id INTEGER PRIMARY KEY CHECK (id = 0), at INTEGER NOT NULL, unindexed INTEGER NOT NULL);
`;
/**
 * How long the last count of snapshots/ tells what it holds beyond the index's dirs. A store
 * kept between 90% and 100% of its budget (as a busy one is) counted its whole snapshots/ dir at
 * the end of every build: ~20 ms on a root of 13,000 layers.
 */
const RECOUNT_AFTER_MS = 5 * 60 * 1000;
const DIGEST_TOKEN = /sha256:[a-f0-9]{64}/g;

/**
 * Disk accounting and cache eviction on top of the store's own GC: this decides which build
 * cache records go (least recently used first) and which extracted layers nothing needs any more;
 * `Store.gc()` then removes unreachable blobs, honouring every live process's holds.
 */
class Pruner {
  private readonly db: Database.Database;

  constructor(private readonly store: Store) {
    this.db = openSqlite(store.layout.dbPath, { timeout: 30_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /** Another live kiln process may be building on snapshots it has not recorded yet. */
  othersRunning(): boolean {
    const rows = this.db.prepare('SELECT pid FROM sessions').all() as { pid: number }[];
    return rows.some((r) => r.pid !== process.pid && processAlive(r.pid));
  }

  blobBytes(): { count: number; bytes: number } {
    const r = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM blobs').get() as { n: number; bytes: number };
    return { count: r.n, bytes: r.bytes };
  }

  /** Snapshot dirs never change once in place, so their sizes are measured once and remembered. */
  snapshotSizes(): Map<string, number> {
    const dir = this.store.layout.snapshotsDir;
    const known = new Map((this.db.prepare('SELECT dir, bytes FROM snapshot_sizes').all() as { dir: string; bytes: number }[]).map((r) => [r.dir, r.bytes]));
    const out = new Map<string, number>();
    const fresh: [string, number][] = [];
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      let bytes = known.get(name);
      if (bytes === undefined) {
        bytes = treeBytes(join(dir, name));
        fresh.push([name, bytes]);
      }
      out.set(name, bytes);
    }
    const put = this.db.prepare('INSERT OR REPLACE INTO snapshot_sizes (dir, bytes) VALUES (?, ?)');
    const drop = this.db.prepare('DELETE FROM snapshot_sizes WHERE dir = ?');
    this.db.transaction(() => {
      for (const [name, bytes] of fresh) put.run(name, bytes);
      for (const name of known.keys()) if (!out.has(name)) drop.run(name);
    })();
    return out;
  }

  /**
   * Blobs and snapshot dirs as the index knows them, without reading snapshots/: undefined while
   * some recorded dir has no measured size (extracted, not yet seen by a GC). Dirs the index does
   * not know (a live build's pending ones, a crash's leftovers until recovery) are not in it.
   */
  indexedBytes(): number | undefined {
    const unmeasured = this.db.prepare('SELECT COUNT(*) FROM snapshots s LEFT JOIN snapshot_sizes z ON z.dir = s.dir WHERE z.dir IS NULL').pluck().get() as number;
    if (unmeasured > 0) return undefined;
    const sizes = this.db.prepare('SELECT COALESCE(SUM(bytes), 0) FROM snapshot_sizes').pluck().get() as number;
    return this.blobBytes().bytes + sizes;
  }

  storedBytes(): number {
    let total = this.blobBytes().bytes;
    for (const b of this.snapshotSizes().values()) total += b;
    return total;
  }

  /**
   * storedBytes, when `indexed` (indexedBytes, just now) plus what the index missed at the last
   * count, less than RECOUNT_AFTER_MS ago, does not already say; the count is remembered.
   */
  estimatedBytes(indexed: number | undefined, now: number): number {
    if (indexed !== undefined) {
      const last = this.db.prepare('SELECT at, unindexed FROM gc_count WHERE id = 0').get() as { at: number; unindexed: number } | undefined;
      if (last && now >= last.at && now - last.at < RECOUNT_AFTER_MS) return indexed + last.unindexed;
    }
    const stored = this.storedBytes();
    // Sizes measured just now are in the index from here on; what it still misses is the rest.
    const after = this.indexedBytes();
    if (after !== undefined) this.db.prepare('INSERT OR REPLACE INTO gc_count (id, at, unindexed) VALUES (0, ?, ?)').run(now, Math.max(0, stored - after));
    return stored;
  }

  forgetCount(): void {
    this.db.prepare('DELETE FROM gc_count').run();
  }

  /** DiffIDs of layers some image or cache record refers to: their snapshots stay. */
  async liveDiffIDs(): Promise<Set<string>> {
    const live = new Set<string>();
    for (const r of this.db.prepare('SELECT value FROM cache_records').all() as { value: string }[]) {
      for (const m of r.value.matchAll(DIGEST_TOKEN)) live.add(m[0]);
    }
    const configs = this.db.prepare('SELECT DISTINCT config_digest AS d FROM images').all() as { d: string }[];
    for (const { d } of configs) {
      const config = await this.store.readJson<{ rootfs?: { diff_ids?: string[] } }>(d).catch(() => undefined);
      for (const id of config?.rootfs?.diff_ids ?? []) live.add(id);
    }
    return live;
  }

  /** Snapshot dirs (name -> diffID, undefined for a dir the index does not know) no live layer needs. */
  async deadSnapshots(): Promise<Map<string, string | undefined>> {
    const live = await this.liveDiffIDs();
    const rows = this.db.prepare('SELECT diff_id, dir FROM snapshots').all() as { diff_id: string; dir: string }[];
    const byDir = new Map(rows.map((r) => [r.dir, r.diff_id]));
    const dir = this.store.layout.snapshotsDir;
    const dead = new Map<string, string | undefined>();
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      const diffID = byDir.get(name);
      if (diffID === undefined || !live.has(diffID)) dead.set(name, diffID);
    }
    return dead;
  }

  /**
   * Moves `path` into tmp (to `to`) only while no other kiln process is live. The check and the rename share
   * one write transaction, and a process registers its session with a write, so none can start
   * (and mount or fill the dir) between them; a build that started since the dead list was made
   * stops the sweep at the next dir.
   */
  private takeAwayAlone(path: string, forget: () => void = () => undefined, to: string = this.store.layout.tempPath('prune')): string | 'busy' | 'gone' {
    return this.db
      .transaction((): string | 'busy' | 'gone' => {
        if (this.othersRunning()) return 'busy';
        try {
          renameSync(path, to);
        } catch {
          return 'gone';
        }
        forget();
        return to;
      })
      .immediate();
  }

  /**
   * Removes dead snapshots: renamed into tmp first, so a crash never leaves a half-deleted lower
   * dir in place. In the background, they go into one trash dir that a detached `rm` deletes.
   */
  async sweepSnapshots(background: boolean): Promise<{ count: number; bytes: number }> {
    if (this.othersRunning()) return { count: 0, bytes: 0 };
    const sizes = this.snapshotSizes();
    let count = 0;
    let bytes = 0;
    const trash = background ? this.store.layout.tempPath('trash') : undefined;
    let trashMade = false;
    for (const [name] of await this.deadSnapshots()) {
      if (trash && !trashMade) {
        await mkdir(trash);
        trashMade = true;
      }
      const forget = () => {
        this.db.prepare('DELETE FROM snapshots WHERE dir = ?').run(name);
        this.db.prepare('DELETE FROM snapshot_sizes WHERE dir = ?').run(name);
      };
      const tmp = this.takeAwayAlone(join(this.store.layout.snapshotsDir, name), forget, trash ? join(trash, name) : undefined);
      if (tmp === 'busy') break;
      if (tmp === 'gone') continue;
      if (!trash) await rm(tmp, { recursive: true, force: true });
      count++;
      bytes += sizes.get(name) ?? 0;
    }
    if (trash && trashMade) removeInBackground(trash);
    return { count, bytes };
  }

  /** Removes every cache mount dir, as sweepSnapshots does; returns how many and their bytes. */
  async sweepCacheMounts(): Promise<{ count: number; bytes: number }> {
    let count = 0;
    let bytes = 0;
    for (const dir of await cacheMountDirs(this.store)) {
      const size = treeBytes(dir);
      const tmp = this.takeAwayAlone(dir);
      if (tmp === 'busy') break;
      if (tmp === 'gone') continue;
      await rm(tmp, { recursive: true, force: true });
      count++;
      bytes += size;
    }
    return { count, bytes };
  }

  /** Build cache records, least recently used first. */
  records(): { key: string; value: string; lastUsed: number }[] {
    return (
      this.db
        .prepare('SELECT r.key AS key, r.value AS value, MAX(r.created_at, COALESCE(u.used_at, 0)) AS lastUsed FROM cache_records r LEFT JOIN cache_record_use u ON u.key = r.key')
        .all() as { key: string; value: string; lastUsed: number }[]
    ).sort((a, b) => a.lastUsed - b.lastUsed || (a.key < b.key ? -1 : 1));
  }

  /** Layer blobs of images: records whose blobs an image uses are not dangling. */
  imageBlobs(): Set<string> {
    const live = new Set<string>();
    const q = (this.db.prepare('SELECT manifest_digest AS d FROM images').all() as { d: string }[]).map((r) => r.d);
    const children = this.db.prepare('SELECT child FROM refs WHERE parent = ?');
    while (q.length > 0) {
      const d = q.pop()!;
      if (live.has(d)) continue;
      live.add(d);
      for (const r of children.all(d) as { child: string }[]) q.push(r.child);
    }
    return live;
  }

  recordBlobs(key: string): string[] {
    return (this.db.prepare('SELECT digest FROM cache_record_blobs WHERE key = ?').all(key) as { digest: string }[]).map((r) => r.digest);
  }

  forgetUse(key: string): void {
    this.db.prepare('DELETE FROM cache_record_use WHERE key = ?').run(key);
  }

  markUsed(keys: string[], at: number): void {
    const put = this.db.prepare('INSERT OR REPLACE INTO cache_record_use (key, used_at) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const k of keys) put.run(k, at);
    })();
  }
}

/** Bytes a tree occupies on disk, each hard-linked inode counted once. */
function treeBytes(dir: string): number {
  const usage = new DiskUsageCounter();
  const visit = (path: string) => {
    const st = lstatSync(path, { bigint: true });
    usage.add(st);
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  try {
    visit(dir);
  } catch {
    // Removed while measuring (a concurrent prune): count what was seen.
  }
  return usage.bytes;
}

async function cacheMountDirs(store: Store): Promise<string[]> {
  const base = join(store.root, 'cachemounts');
  return (await readdir(base).catch(() => [] as string[])).map((n) => join(base, n));
}

/** What the state root holds, by kind, and how much of it `prune` could free. */
export async function diskUsage(store: Store): Promise<DiskUsage> {
  const p = new Pruner(store);
  try {
    const blobs = p.blobBytes();
    const candidates = new Set(store.gcCandidates());
    let blobReclaim = 0;
    for (const d of candidates) blobReclaim += await store.blobSize(d).catch(() => 0);
    const sizes = p.snapshotSizes();
    const dead = await p.deadSnapshots();
    let snapBytes = 0;
    let snapReclaim = 0;
    for (const [name, b] of sizes) {
      snapBytes += b;
      if (dead.has(name)) snapReclaim += b;
    }
    let mountBytes = 0;
    const mounts = await cacheMountDirs(store);
    for (const m of mounts) mountBytes += treeBytes(m);
    const cacheRecords = p.records().length;
    return {
      blobs: { count: blobs.count, bytes: blobs.bytes, reclaimableBytes: blobReclaim },
      snapshots: { count: sizes.size, bytes: snapBytes, reclaimableBytes: snapReclaim },
      cacheMounts: { count: mounts.length, bytes: mountBytes, reclaimableBytes: mountBytes },
      cacheRecords,
      totalBytes: blobs.bytes + snapBytes + mountBytes,
    };
  } finally {
    p.close();
  }
}

/**
 * Removes build cache records (see PruneOptions), then whatever blobs and snapshots nothing needs
 * any more. Images, tagged or not, are never removed; neither is anything a live kiln process holds.
 */
export async function prune(store: Store, opts: PruneOptions = {}): Promise<PruneResult> {
  const p = new Pruner(store);
  try {
    const result: PruneResult = { removedRecords: 0, removedBlobs: 0, removedSnapshots: 0, removedCacheMounts: 0, freedBytes: 0 };
    const sweep = async () => {
      const g = await store.gc();
      result.removedBlobs += g.removed.length;
      result.freedBytes += g.freedBytes;
      const s = await p.sweepSnapshots(opts.background ?? false);
      result.removedSnapshots += s.count;
      result.freedBytes += s.bytes;
    };
    const cutoff = opts.olderThanMs === undefined ? Infinity : Date.now() - opts.olderThanMs;
    const imageBlobs = opts.all ? undefined : p.imageBlobs();
    const victims = p
      .records()
      .filter((r) => r.lastUsed < cutoff)
      .filter((r) => !imageBlobs || !p.recordBlobs(r.key).some((d) => imageBlobs.has(d)));
    const remove = (keys: { key: string }[]) => {
      for (const { key } of keys) {
        store.deleteCacheRecord(key);
        p.forgetUse(key);
        result.removedRecords++;
      }
    };
    if (opts.keepStorage === undefined) {
      remove(victims);
      await sweep();
    } else {
      await sweep();
      // Oldest first, in growing batches, measuring after each: removing a record frees only
      // what no other record or image shares, which is only known after a sweep.
      let next = 0;
      let batch = 1;
      while (p.storedBytes() > opts.keepStorage && next < victims.length) {
        remove(victims.slice(next, next + batch));
        next += batch;
        batch *= 2;
        await sweep();
      }
    }
    if (opts.all && opts.keepStorage === undefined && opts.olderThanMs === undefined && !p.othersRunning()) {
      const m = await p.sweepCacheMounts();
      result.removedCacheMounts += m.count;
      result.freedBytes += m.bytes;
      const stats = StatCache.open(store);
      stats.clear();
      stats.close();
    }
    return result;
  } finally {
    p.close();
  }
}

/**
 * The automatic GC after a build: when blobs and snapshots exceed `budgetBytes`, evicts build
 * cache records least recently used first until they fit. Cheap when under budget (a few
 * queries; snapshots/ is read and sized only when the index's sizes are incomplete or come
 * near the budget), so it can run after every build.
 */
export async function gcToBudget(store: Store, budgetBytes: number = DEFAULT_GC_BUDGET): Promise<PruneResult | undefined> {
  const p = new Pruner(store);
  let over: boolean;
  try {
    const indexed = p.indexedBytes();
    // An estimate that says "over" only costs the prune its own exact count.
    over = indexed !== undefined && indexed <= budgetBytes * INDEXED_MARGIN ? false : p.estimatedBytes(indexed, Date.now()) > budgetBytes;
    // What a prune sweeps out of snapshots/ makes the last count stale.
    if (over) p.forgetCount();
  } finally {
    p.close();
  }
  return over ? prune(store, { all: true, keepStorage: budgetBytes, background: true }) : undefined;
}

/**
 * What every build ends with: the records it reused are marked as used, then the store is brought
 * within the GC budget under the prune lock (so two builds ending together do not both evict).
 */
export async function maintainAfterBuild(store: Store, hits: string[], budgetBytes: number = gcBudgetFromEnv()): Promise<PruneResult | undefined> {
  if (hits.length > 0) recordCacheUse(store, hits);
  return store.withLock('prune', () => gcToBudget(store, budgetBytes));
}

/** Marks cache records as used now, so LRU eviction keeps what builds keep hitting. */
export function recordCacheUse(store: Store, keys: string[]): void {
  const p = new Pruner(store);
  try {
    p.markUsed(keys, Date.now());
  } finally {
    p.close();
  }
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };

/** Parses sizes as docker does for `--keep-storage`: `512MB`, `10GB`, `1.5g`, plain bytes. Units are binary. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase().replace('i', '');
  const mult = UNITS[unit];
  return mult === undefined ? undefined : Math.floor(Number(m[1]) * mult);
}

/** The GC budget: `KILN_GC_BUDGET` (a size like `20GB`), else 10 GiB. */
export function gcBudgetFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.KILN_GC_BUDGET;
  if (raw === undefined || raw === '') return DEFAULT_GC_BUDGET;
  const size = parseSize(raw);
  if (size === undefined) throw new KilnError('E_GC_BUDGET', `invalid KILN_GC_BUDGET "${raw}"`, { hint: 'use a size such as 20GB, 512MB or a number of bytes' });
  return size;
}

