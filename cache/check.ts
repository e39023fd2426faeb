import { createHash } from 'node:crypto';
import { createReadStream, existsSync, rmSync } from 'node:fs';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isSpareSnapshot, StoreLayout, tempOwner } from './layout.js';
import { immediate, openDb, type Db } from './metadata.js';
import { processAlive } from './process-alive.js';
import { openSqlite } from './sqlite.js';
import { Store } from './store.js';

export type StoreFindingKind =
  /** A blob file whose content does not hash to its name. */
  | 'corrupt-blob'
  /** A file under blobs/ that is not named by a digest. */
  | 'stray-blob-file'
  /** An index row for a blob whose file is missing (and no live process is writing it). */
  | 'missing-blob'
  /** An image whose manifest, config or layers are not all in the store. */
  | 'broken-image'
  /** A name pointing at a manifest that is not an image. */
  | 'dangling-tag'
  /** A build cache record needing a blob that is gone: it would make a broken cache hit. */
  | 'broken-cache-record'
  /** An index row for an extracted layer whose directory is missing. */
  | 'missing-snapshot'
  /** A directory under snapshots/ that the index does not know. */
  | 'orphan-snapshot'
  /** A temp file or dir under tmp/ whose writer is dead. */
  | 'leftover-temp'
  /** A session (with its holds and locks) of a process that is dead. */
  | 'stale-session';

export interface StoreFinding {
  kind: StoreFindingKind;
  /** The digest, path, name or session concerned. */
  subject: string;
  detail: string;
  /** False when --repair cannot fix it (a broken image must be pulled, loaded or built again). */
  repairable: boolean;
}

export interface StoreCheckReport {
  findings: StoreFinding[];
  blobsVerified: number;
}

export interface StoreRepairReport {
  /** What was found and fixed. */
  repaired: StoreFinding[];
  /** What is still wrong after the repair. */
  remaining: StoreFinding[];
}

interface Row {
  digest: string;
}

/**
 * Verifies a state root's store without changing anything, not even the start-up recovery every
 * kiln process runs: so what a killed process left behind shows up here until some kiln process
 * (or `repairStore`) recovers it. Every blob is hashed (streamed); every index row is checked
 * against the blobs and snapshot dirs it names. Work of live kiln processes is never reported:
 * their temp files, held blobs not yet renamed in, and (while any other kiln runs) snapshot dirs
 * not yet recorded.
 */
export async function checkStore(root: string): Promise<StoreCheckReport> {
  const layout = new StoreLayout(root);
  if (!existsSync(layout.dbPath)) return { findings: [], blobsVerified: 0 };
  const db = openSqlite(layout.dbPath, { timeout: 30_000 });
  try {
    db.pragma('journal_mode = WAL');
    const findings: StoreFinding[] = [];
    const add = (kind: StoreFindingKind, subject: string, detail: string, repairable = true) => findings.push({ kind, subject, detail, repairable });

    const sessions = db.prepare('SELECT id, pid FROM sessions').all() as { id: string; pid: number }[];
    const live = new Set(sessions.filter((s) => processAlive(s.pid)).map((s) => s.id));
    for (const s of sessions) if (!live.has(s.id)) add('stale-session', s.id, `session of dead process ${s.pid} still holds blobs or locks`);
    const othersRunning = sessions.some((s) => live.has(s.id) && s.pid !== process.pid);

    const busy = await pathsInLiveCommandLines();
    for (const name of await listDir(layout.tmpDir)) {
      const pid = tempOwner(name);
      if (pid !== undefined && processAlive(pid)) continue;
      const path = join(layout.tmpDir, name);
      // A detached `rm -rf` (see discard.ts) may still be deleting it for its dead owner.
      if (busy.has(path)) continue;
      add('leftover-temp', path, pid === undefined ? 'temp entry not made by kiln' : `temp entry of dead process ${pid}`);
    }

    let blobsVerified = 0;
    const files = new Set<string>();
    const corrupt = new Set<string>();
    for (const name of await listDir(layout.blobsDir)) {
      const path = join(layout.blobsDir, name);
      if (!/^[a-f0-9]{64}$/.test(name)) {
        add('stray-blob-file', path, 'not named by a sha256 digest');
        continue;
      }
      const actual = await sha256OfFile(path);
      if (actual === undefined) continue;
      blobsVerified++;
      if (actual !== name) {
        add('corrupt-blob', `sha256:${name}`, `content hashes to sha256:${actual}`);
        corrupt.add(`sha256:${name}`);
      } else files.add(`sha256:${name}`);
    }
    // A blob written by another kiln process since the listing above is there too (the writer
    // verified it): without this, one recorded and renamed meanwhile read as missing.
    const present = (d: string) => files.has(d) || (!corrupt.has(d) && existsSync(layout.blobPath(d)));

    const held = new Set((db.prepare('SELECT DISTINCT digest FROM holds WHERE session IN (SELECT value FROM json_each(?))').all(JSON.stringify([...live])) as Row[]).map((r) => r.digest));
    for (const { digest } of db.prepare('SELECT digest FROM blobs').all() as Row[]) {
      if (!present(digest) && !held.has(digest) && !findings.some((f) => f.subject === digest)) add('missing-blob', digest, 'indexed, but its file is missing');
    }

    const children = db.prepare('SELECT child FROM refs WHERE parent = ?');
    for (const { digest } of db.prepare('SELECT manifest_digest AS digest FROM images').all() as Row[]) {
      const missing = await missingBlobs(digest, (d) => (children.all(d) as { child: string }[]).map((r) => r.child), present, layout);
      if (missing.length > 0) add('broken-image', digest, `needs ${missing.length} blob(s) not in the store: ${missing.join(', ')}`, false);
    }
    for (const { name, digest } of db.prepare('SELECT name, manifest_digest AS digest FROM tags WHERE manifest_digest NOT IN (SELECT manifest_digest FROM images)').all() as { name: string; digest: string }[]) {
      add('dangling-tag', name, `points at ${digest}, which is not an image`);
    }
    for (const { key, digest } of db.prepare('SELECT key, digest FROM cache_record_blobs').all() as { key: string; digest: string }[]) {
      if (!present(digest)) add('broken-cache-record', key, `needs blob ${digest}, which is not in the store`);
    }

    const snapshotRows = db.prepare('SELECT diff_id, dir FROM snapshots').all() as { diff_id: string; dir: string }[];
    const dirs = new Set(await listDir(layout.snapshotsDir));
    for (const r of snapshotRows) if (!dirs.has(r.dir)) add('missing-snapshot', r.diff_id, `indexed at snapshots/${r.dir}, which is missing`);
    if (!othersRunning) {
      const known = new Set(snapshotRows.map((r) => r.dir));
      // Spare copies of layers are unindexed on purpose: they wait for the GC (Store.keepSpareLayerDirs).
      for (const d of dirs) if (!known.has(d) && !isSpareSnapshot(d)) add('orphan-snapshot', layout.snapshotPath(d), 'not in the index');
    }
    return { findings, blobsVerified };
  } finally {
    db.close();
  }
}

/**
 * Repairs what checkStore finds: runs the start-up recovery (dead processes' temp files,
 * sessions, holds and locks), then removes corrupt and stray blob files, index rows naming what
 * is gone, cache records needing missing blobs, and orphaned snapshot dirs. Nothing a live kiln
 * process holds is touched. Broken images are left for the user to pull, load or build again.
 */
export async function repairStore(root: string): Promise<StoreRepairReport> {
  const before = await checkStore(root);
  // Opening the store is the start-up recovery every kiln process runs.
  (await Store.open(root)).close();
  const layout = new StoreLayout(root);
  const db = openDb(layout.dbPath);
  try {
    for (const f of before.findings) {
      switch (f.kind) {
        case 'corrupt-blob':
          immediate(db, () => {
            rmSync(layout.blobPath(f.subject), { force: true });
            dropBlobRow(db, f.subject);
          });
          break;
        case 'stray-blob-file':
        case 'leftover-temp':
          await rm(f.subject, { recursive: true, force: true });
          break;
        case 'missing-blob':
          immediate(db, () => {
            const held = db.prepare('SELECT 1 FROM holds WHERE digest = ?').get(f.subject);
            if (!held && !existsSync(layout.blobPath(f.subject))) dropBlobRow(db, f.subject);
          });
          break;
        case 'broken-cache-record':
          immediate(db, () => {
            db.prepare('DELETE FROM cache_records WHERE key = ?').run(f.subject);
            db.prepare('DELETE FROM cache_record_blobs WHERE key = ?').run(f.subject);
          });
          break;
        case 'dangling-tag':
          immediate(db, () => db.prepare('DELETE FROM tags WHERE name = ? AND manifest_digest NOT IN (SELECT manifest_digest FROM images)').run(f.subject));
          break;
        case 'missing-snapshot':
          immediate(db, () => {
            const row = db.prepare('SELECT dir FROM snapshots WHERE diff_id = ?').get(f.subject) as { dir: string } | undefined;
            if (row && !existsSync(layout.snapshotPath(row.dir))) db.prepare('DELETE FROM snapshots WHERE diff_id = ?').run(f.subject);
          });
          break;
        case 'orphan-snapshot':
          if (!othersRunning(db)) await removeTree(layout, f.subject);
          break;
        case 'stale-session':
        case 'broken-image':
          // Recovery in Store.open ended stale sessions; a broken image needs the user.
          break;
      }
    }
  } finally {
    db.close();
  }
  const after = await checkStore(root);
  const still = new Set(after.findings.map((f) => `${f.kind}\0${f.subject}`));
  return { repaired: before.findings.filter((f) => !still.has(`${f.kind}\0${f.subject}`)), remaining: after.findings };
}

function dropBlobRow(db: Db, digest: string): void {
  db.prepare('DELETE FROM blobs WHERE digest = ?').run(digest);
}

function othersRunning(db: Db): boolean {
  return (db.prepare('SELECT pid FROM sessions').all() as { pid: number }[]).some((s) => s.pid !== process.pid && processAlive(s.pid));
}

/** Moved into tmp/ first, so a crash never leaves half a tree where it was. */
async function removeTree(layout: StoreLayout, path: string): Promise<void> {
  const trash = layout.tempPath('check');
  try {
    await rename(path, trash);
  } catch {
    return;
  }
  await rm(trash, { recursive: true, force: true });
}

/**
 * Blobs an image needs that are not in the store. An index only needs the manifests that were
 * fetched: a pull takes the host platform's and leaves the others' out.
 */
async function missingBlobs(top: string, children: (d: string) => string[], present: (d: string) => boolean, layout: StoreLayout): Promise<string[]> {
  const seen = new Set<string>();
  const missing: string[] = [];
  const visit = async (d: string, required: boolean): Promise<void> => {
    if (seen.has(d)) return;
    seen.add(d);
    if (!present(d)) {
      if (required) missing.push(d);
      return;
    }
    const kids = children(d);
    if (kids.length === 0) return;
    const doc = await manifestDocument(layout.blobPath(d));
    // A layer's children are the compressed copies made of it for pushes: none is needed.
    const needed = doc !== undefined && !('manifests' in doc);
    for (const k of kids) await visit(k, needed);
  };
  await visit(top, true);
  return missing;
}

/** Registries refuse manifests bigger than this (distribution's default limit). */
const MAX_MANIFEST = 4 * 1024 * 1024;

/**
 * The blob as a manifest or index, which are JSON objects of at most MAX_MANIFEST bytes; undefined
 * for anything else, such as a layer with children (its compressed copies). Only the first bytes
 * of a big blob are read.
 */
async function manifestDocument(path: string): Promise<object | undefined> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, 512));
    await handle.read(head, 0, head.length, 0);
    // JSON may start with whitespace, and a byte order mark.
    if (size > MAX_MANIFEST || !/^\uFEFF?\s*\{/.test(head.toString('utf8'))) return undefined;
    const doc = JSON.parse((await handle.readFile('utf8')).replace(/^\uFEFF/, '')) as unknown;
    return typeof doc === 'object' && doc !== null ? doc : undefined;
  } catch (e) {
    if (e instanceof SyntaxError) return undefined;
    throw e;
  } finally {
    await handle.close();
  }
}

/** sha256 hex of a file, streamed; undefined when it vanished meanwhile (a concurrent GC). */
async function sha256OfFile(path: string): Promise<string | undefined> {
  const h = createHash('sha256');
  try {
    await pipeline(createReadStream(path), h);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return h.digest('hex');
}

/** Every argument of every running process's command line: paths a live process is working on. */
async function pathsInLiveCommandLines(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const pid of await listDir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    for (const arg of cmdline.split('\0')) if (arg.startsWith('/')) out.add(arg);
  }
  return out;
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}
