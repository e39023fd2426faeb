import { existsSync, readdirSync, rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { discardTree, isTrash, removeInBackground } from './discard.js';
import { pendingSnapshotOwner, tempOwner, type StoreLayout } from './layout.js';
import { immediate, type Db } from './metadata.js';
import { aliveProbe } from './process-alive.js';

/**
 * Undoes what dead kiln processes left behind: their temp files and dirs, layer dirs they moved
 * into snapshots/ but never recorded, their holds and locks, and index rows for blobs they recorded but never finished renaming into place.
 */
export async function recover(db: Db, layout: StoreLayout): Promise<void> {
  const processAlive = aliveProbe();
  for (const name of await readdir(layout.tmpDir)) {
    const pid = tempOwner(name);
    if (pid !== undefined && processAlive(pid)) continue;
    // A discarded tree may still be going in a detached rm; another one finishes it without delaying this process.
    if (isTrash(name)) removeInBackground(join(layout.tmpDir, name));
    else await rm(join(layout.tmpDir, name), { recursive: true, force: true });
  }
  const dead = (db.prepare('SELECT id, pid FROM sessions').all() as { id: string; pid: number }[]).filter((s) => !processAlive(s.pid));
  // Only a process that died with its session open can have left them: one that closed its store
  // had recorded or discarded every layer dir it made. Listing thousands of snapshots and their
  // rows cost every kiln start ~4 ms.
  if (dead.length === 0) return;
  // A build killed between moving a step's upper dir into snapshots/ and recording its diffID.
  // Recorded dirs keep their maker's pid in their name for good, so the few unrecorded ones are
  // found first: asking whether the maker of each of thousands of layers still runs took ms.
  const recorded = new Set(db.prepare('SELECT dir FROM snapshots').pluck().all() as string[]);
  for (const name of readdirSync(layout.snapshotsDir)) {
    if (recorded.has(name)) continue;
    const pid = pendingSnapshotOwner(name);
    if (pid !== undefined && !processAlive(pid)) await discardTree(layout, layout.snapshotPath(name));
  }
  immediate(db, () => {
    endSessions(db, dead.map((s) => s.id));
    // A dead process may have recorded any of them.
    forgetUnfinishedBlobs(db, layout, (db.prepare('SELECT digest FROM blobs').all() as { digest: string }[]).map((r) => r.digest));
  });
}

/** Ends sessions in the index (inside the caller's transaction): their holds, their locks and their rows. */
export function endSessions(db: Db, sessions: readonly string[]): void {
  const delHolds = db.prepare('DELETE FROM holds WHERE session = ?');
  const delLocks = db.prepare('DELETE FROM locks WHERE session = ?');
  const delSession = db.prepare('DELETE FROM sessions WHERE id = ?');
  for (const id of sessions) {
    delHolds.run(id);
    delLocks.run(id);
    delSession.run(id);
  }
}

/**
 * Drops the index rows of those `digests` whose file never arrived and that no session holds
 * any more: a process ended between recording a blob and renaming it into place.
 */
function forgetUnfinishedBlobs(db: Db, layout: StoreLayout, digests: readonly string[]): void {
  const delBlob = db.prepare('DELETE FROM blobs WHERE digest = ? AND NOT EXISTS (SELECT 1 FROM holds WHERE holds.digest = blobs.digest)');
  for (const digest of digests) if (!existsSync(layout.blobPath(digest))) delBlob.run(digest);
}

/**
 * Recovery of this process's own leftovers, run by the process itself as a signal ends it (see
 * common/interrupt.ts): its temp entries and unrecorded layer dirs, then its session with its
 * holds and locks, and the rows of blobs it recorded but had not renamed into place. Synchronous,
 * so nothing of the interrupted work runs in between.
 */
export function abandonSession(db: Db, layout: StoreLayout, session: string): void {
  for (const name of readdirSync(layout.tmpDir)) {
    if (tempOwner(name) === process.pid && !isTrash(name)) rmSync(join(layout.tmpDir, name), { recursive: true, force: true });
  }
  const recorded = db.prepare('SELECT 1 FROM snapshots WHERE dir = ?');
  for (const name of readdirSync(layout.snapshotsDir)) {
    if (pendingSnapshotOwner(name) === process.pid && !recorded.get(name)) rmSync(layout.snapshotPath(name), { recursive: true, force: true });
  }
  immediate(db, () => {
    // A process holds every blob it records until its session ends.
    const held = (db.prepare('SELECT digest FROM holds WHERE session = ?').all(session) as { digest: string }[]).map((r) => r.digest);
    endSessions(db, [session]);
    forgetUnfinishedBlobs(db, layout, held);
  });
}
