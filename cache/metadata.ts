import type Database from 'better-sqlite3';
import { openSqlite } from './sqlite.js';

/**
 * The SQLite index beside the blobs. Blob files are the truth for content; this records what
 * refers to what (names, manifests, cache records) and who is using what right now (sessions,
 * holds, locks) so garbage collection never removes something a live kiln process needs.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS blobs (
  digest TEXT PRIMARY KEY, size INTEGER NOT NULL, media_type TEXT, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY, pid INTEGER NOT NULL, started_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS holds (
  session TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (session, digest));
CREATE INDEX IF NOT EXISTS holds_digest ON holds (digest);
CREATE TABLE IF NOT EXISTS refs (
  parent TEXT NOT NULL, child TEXT NOT NULL, PRIMARY KEY (parent, child));
CREATE INDEX IF NOT EXISTS refs_child ON refs (child);
CREATE TABLE IF NOT EXISTS images (
  manifest_digest TEXT PRIMARY KEY, config_digest TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS images_config ON images (config_digest);
CREATE TABLE IF NOT EXISTS tags (
  name TEXT PRIMARY KEY, manifest_digest TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tags_manifest ON tags (manifest_digest);
CREATE TABLE IF NOT EXISTS cache_records (
  key TEXT PRIMARY KEY, value TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cache_record_blobs (
  key TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (key, digest));
CREATE TABLE IF NOT EXISTS snapshots (
  diff_id TEXT PRIMARY KEY, dir TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS locks (
  name TEXT PRIMARY KEY, session TEXT NOT NULL, acquired_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS diff_sizes (
  diff_id TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS repo_digests (
  manifest_digest TEXT NOT NULL, repo_digest TEXT NOT NULL, PRIMARY KEY (manifest_digest, repo_digest));
CREATE TABLE IF NOT EXISTS snapshot_sizes (dir TEXT PRIMARY KEY, bytes INTEGER NOT NULL) WITHOUT ROWID;
DROP TABLE IF EXISTS parsed_dockerfiles;
CREATE TABLE IF NOT EXISTS dockerfile_parses (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export type Db = Database.Database;
export type Statement = Database.Statement;

export function openDb(path: string): Db {
  // Waiting on another process's write transaction is normal; 30 s means something is stuck.
  const db = openSqlite(path, { timeout: 30_000 });
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode never corrupts on a crash; at worst the last commits before power loss are lost.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = OFF');
  immediate(db, () => db.exec(SCHEMA));
  return db;
}

/** Connections closeDb left for the process's exit: referenced, so no garbage collection closes them first. */
let leftToExit: Db[] | undefined;

/**
 * From now on closeDb leaves connections for the process's exit to drop: for a process that
 * ends with its command (the CLI). Closing the index's last connection checkpoints its WAL into
 * the database file, ~7 ms of writes and fsyncs at the end of every build; left open, the
 * committed WAL stays for the next process to read and checkpoint in its turn, as SQLite does
 * after any process that ended without closing.
 */
export function leaveDbsToExit(): void {
  leftToExit ??= [];
}

/** Closes `db`, or leaves it for the process's exit after leaveDbsToExit. */
export function closeDb(db: Db): void {
  if (leftToExit) leftToExit.push(db);
  else db.close();
}

/** Runs fn in a BEGIN IMMEDIATE transaction: the cross-process write lock of the root. */
export function immediate<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}
