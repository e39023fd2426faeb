import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchRoot } from '../common/state-root.js';
import { digestHex } from '../oci/index.js';

/**
 * Where things live under a state root. Temp files sit under `tmp/` on the same filesystem as
 * `blobs/` and `snapshots/`, so finishing a write is one atomic rename.
 */
export class StoreLayout {
  readonly blobsDir: string;
  readonly snapshotsDir: string;
  readonly tmpDir: string;
  /** Where each kiln process keeps its scratch dir (runtime's snapshots and bundles). */
  readonly scratchDir: string;
  readonly dbPath: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.snapshotsDir = join(root, 'snapshots');
    this.tmpDir = join(root, 'tmp');
    this.scratchDir = scratchRoot(root);
    this.dbPath = join(root, 'index.db');
  }

  async create(): Promise<void> {
    for (const d of [this.blobsDir, this.snapshotsDir, this.tmpDir]) await mkdir(d, { recursive: true, mode: 0o700 });
    await mkdir(this.scratchDir, { recursive: true });
  }

  /**
   * The dirs that hold one tree per layer, temp copy or process: Orlov top dirs
   * (common/top-dir.ts). A process's snapshots go in its scratch dir under scratchDir, so the
   * trees one process makes start in the block group chosen for that dir.
   */
  get treeDirs(): string[] {
    return [this.snapshotsDir, this.tmpDir, this.scratchDir];
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }

  snapshotPath(name: string): string {
    return join(this.snapshotsDir, name);
  }

  /**
   * A fresh dir under snapshots/ for a layer whose diffID is not known yet, named `p<pid>.<hex>`
   * so recovery can remove it when its process died before recording it.
   */
  pendingSnapshotPath(): string {
    return join(this.snapshotsDir, `p${process.pid}.${Math.random().toString(36).slice(2, 10)}`);
  }

  /**
   * Where a spare copy of a layer (see Store.keepSpareLayerDirs) waits for the GC: under
   * snapshots/, unindexed, so prune sweeps it as a dead snapshot and counts its size.
   */
  spareSnapshotPath(): string {
    return join(this.snapshotsDir, `${SPARE_PREFIX}${Math.random().toString(36).slice(2, 10)}`);
  }

  /** A fresh temp path whose name starts with our pid, so recovery can tell whose it is. */
  tempPath(tag: string): string {
    return join(this.tmpDir, `${process.pid}.${tag}.${Math.random().toString(36).slice(2, 10)}`);
  }
}

const SPARE_PREFIX = 'spare.';

/** Whether a dir under snapshots/ is a spare copy waiting for the GC (spareSnapshotPath). */
export function isSpareSnapshot(name: string): boolean {
  return name.startsWith(SPARE_PREFIX);
}

/** The pid a temp entry was created by, or undefined for names kiln did not make. */
export function tempOwner(name: string): number | undefined {
  const m = /^(\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The pid that made a pending snapshot dir (see pendingSnapshotPath), or undefined for other names. */
export function pendingSnapshotOwner(name: string): number | undefined {
  const m = /^p(\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
}
