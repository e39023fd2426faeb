/**
 * Public API of the content store (cache/).
 *
 * Layout under a state root: `blobs/sha256/<hex>` (content by digest), `snapshots/<12 hex>/`
 * (extracted layers, overlay lower dirs), `tmp/` (in-progress writes, named `<pid>.*`; those of dead
 * processes are removed by openStore), `index.db` (SQLite in WAL mode: image names, images,
 * references between blobs, cache records, sessions/holds/locks of live processes).
 *
 * Guarantees: a blob file exists only complete and with content matching its name (streamed to a
 * temp file, hashed while writing, verified, fsynced, renamed). Several kiln processes may use one
 * root at once; index changes are SQLite IMMEDIATE transactions; GC never removes blobs reachable
 * from an image or cache record, or held by a live process (every blob written or found by
 * `hasBlob` is held until `close()`).
 */
import { Store } from './store.js';

export { Store } from './store.js';
export { leaveDbsToExit } from './metadata.js';
export { baseKey, canonicalJson, runKey, vertexKey, type MountKey, type RunKeyInput, type VertexKeyInput } from './keys.js';
export type { BlobInfo, GcResult, ImageSummary, LockOptions, ResolvedImage, WriteBlobOptions } from './store.js';
export { FileRecords, StatCache, dirMatches, entryMatches, nowNs, statMatches, type ContextStats, type DirEntry, type DirStat, type FileStat, type StatEntry } from './stat-cache.js';
export { combineDigests, entryDigest, hashFileSync, hashFiles, type EntryMeta, type EntryType, type HashTarget } from './contenthash.js';
export { diskUsage, gcBudgetFromEnv, gcToBudget, maintainAfterBuild, parseSize, prune, recordCacheUse, DEFAULT_GC_BUDGET, type DiskUsage, type PruneOptions, type PruneResult, type UsageKind } from './prune.js';
export * from './remote/index.js';
export { describeImage, historyRows, unixSeconds, NO_TIME, type HistoryRow } from './image-views.js';
export { checkStore, repairStore, type StoreCheckReport, type StoreFinding, type StoreFindingKind, type StoreRepairReport } from './check.js';
export { AmbiguousImageError, BlobNotFoundError, DigestMismatchError, ImageNotFoundError, SizeMismatchError, StoreBusyError, StoreError } from './errors.js';

/** Opens (creating if needed) the store under a state root and recovers from crashed writers. */
export function openStore(root: string): Promise<Store> {
  return Store.open(root);
}
