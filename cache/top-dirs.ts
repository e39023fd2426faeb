import { markTopDirs } from '../common/top-dir.js';
import type { StoreLayout } from './layout.js';
import type { Db } from './metadata.js';

/** SQLite's user_version from which a store's tree dirs carry the top-dir attribute (1: snapshots/ and tmp/; 2: rt/ too). */
const TREE_DIRS_MARKED = 2;

/**
 * Marks the store's tree dirs (snapshots/, tmp/, rt/) as Orlov top dirs once per store, whether
 * new or made before kiln did this; the index's user_version remembers that it was done.
 */
export async function markTreeDirs(db: Db, layout: StoreLayout): Promise<void> {
  if ((db.pragma('user_version', { simple: true }) as number) >= TREE_DIRS_MARKED) return;
  await markTopDirs(layout.treeDirs);
  db.pragma(`user_version = ${TREE_DIRS_MARKED}`);
}
