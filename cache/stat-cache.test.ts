import test from 'ava';
import Database from 'better-sqlite3';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirMatches, FileRecords, hashFiles, openStore, StatCache, entryMatches, type DirEntry, type DirStat, type FileStat, type HashTarget, type StatEntry } from './index.js';
import { sha256Digest } from '../oci/index.js';

async function target(dir: string, rel: string): Promise<HashTarget> {
  const st = await stat(join(dir, rel), { bigint: true });
  return { rel, path: join(dir, rel), size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: st.ino, dev: st.dev, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
}

/** One lookup as a build does it: load the root's entries, hash what they cannot vouch for, save. */
async function digestOf(cache: StatCache, dir: string, rel: string): Promise<string> {
  const known = cache.load(dir);
  if ((await hashFiles(known.files, [await target(dir, rel)])) > 0) cache.save(dir, known);
  return known.files.get(rel)!.digest;
}

function records(entries: [string, StatEntry][]): FileRecords {
  const out = new FileRecords();
  for (const [rel, e] of entries) out.set(rel, e);
  return out;
}

async function withFixture(fn: (dir: string, cache: StatCache, reopen: () => Promise<StatCache>, dbPath: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'kiln-statcache-'));
  const dir = join(root, 'ctx');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir);
  const store = await openStore(join(root, 'state'));
  const caches: StatCache[] = [];
  const reopen = async () => {
    const c = StatCache.open(store);
    caches.push(c);
    return c;
  };
  try {
    await fn(dir, await reopen(), reopen, store.layout.dbPath);
  } finally {
    for (const c of caches) c.close();
    store.close();
    await rm(root, { recursive: true, force: true });
  }
}

test('entries persist in the store index and vouch for unchanged files', async (t) => {
  await withFixture(async (dir, cache, reopen) => {
    await writeFile(join(dir, 'a'), 'hello');
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'a'), old, old);
    // Until its ctime is clearly older than the record, an entry is racy and never trusted.
    await new Promise((r) => setTimeout(r, 100));
    t.is(await digestOf(cache, dir, 'a'), sha256Digest('hello'));
    const again = await reopen();
    const known = again.load(dir);
    t.true(entryMatches(known.files.get('a')!, await target(dir, 'a')));
  });
});

test('same size and mtime (set back with utimes) but different bytes is detected', async (t) => {
  await withFixture(async (dir, cache) => {
    const file = join(dir, 'f');
    await writeFile(file, 'AAAA');
    const old = new Date(Date.now() - 3600_000);
    await utimes(file, old, old);
    const before = await stat(file, { bigint: true });
    t.is(await digestOf(cache, dir, 'f'), sha256Digest('AAAA'));

    await writeFile(file, 'BBBB');
    await utimes(file, old, old);
    const after = await stat(file, { bigint: true });
    t.is(after.size, before.size);
    t.is(after.mtimeNs, before.mtimeNs);
    t.is(await digestOf(cache, dir, 'f'), sha256Digest('BBBB'));
  });
});

test('a racily clean entry (mtime or ctime not older than the record) is re-hashed even when every stat field matches', (t) => {
  const now = 1_700_000_000_000_000_000n;
  const old = now - 3600_000_000_000n;
  const st: FileStat = { size: 4n, mtimeNs: now, ctimeNs: now, ino: 1n, dev: 1n, mode: 0o644, uid: 0, gid: 0 };
  const racy: StatEntry = { ...st, digest: 'sha256:x', entryDigest: 'sha256:y', recordedNs: now };
  t.false(entryMatches(racy, st));
  const later = now + 1_000_000_000n;
  t.true(entryMatches({ ...racy, recordedNs: later }, st));
  t.false(entryMatches({ ...racy, recordedNs: later }, { ...st, ino: 2n }));
  t.false(entryMatches({ ...racy, recordedNs: later }, { ...st, ctimeNs: now + 1n }));
  t.false(entryMatches({ ...racy, recordedNs: later }, { ...st, mode: 0o755 }));
  t.false(entryMatches({ ...racy, recordedNs: later }, { ...st, uid: 1000 }));
  // mtime set back (touch -d) just before the record: only ctime shows the file is fresh.
  const setBack = { ...st, mtimeNs: old };
  t.false(entryMatches({ ...racy, ...setBack, recordedNs: now + 1_000_000n }, setBack));
  t.true(entryMatches({ ...racy, ...setBack, recordedNs: later }, setBack));
});

test('a loaded record vouches for a file in place exactly when its StatEntry would (entryMatches)', async (t) => {
  await withFixture(async (dir, cache, reopen) => {
    const now = 1_700_000_000_000_000_000n;
    const st: FileStat = { size: 4n, mtimeNs: now, ctimeNs: now, ino: (1n << 62n) + 7n, dev: 2049n, mode: 0o4755, uid: 4_294_967_294, gid: 65534 };
    const settledEntry: StatEntry = { ...st, digest: 'sha256:x', entryDigest: 'sha256:y', recordedNs: now + 1_000_000_000n };
    const racyEntry: StatEntry = { ...settledEntry, recordedNs: now + 1_000_000n };
    const variants: FileStat[] = [
      st,
      { ...st, size: 5n },
      { ...st, mtimeNs: now - 1n },
      { ...st, ctimeNs: now + 1n },
      { ...st, ino: 8n },
      { ...st, dev: 2050n },
      { ...st, mode: 0o755 },
      { ...st, uid: 0 },
      { ...st, gid: 0 },
    ];
    cache.save(dir, { files: records([['settled', settledEntry], ['racy', racyEntry]]), dirs: new Map() });
    const loaded = (await reopen()).load(dir).files;
    const unsaved = records([['settled', settledEntry], ['racy', racyEntry]]);
    for (const [rel, entry] of [['settled', settledEntry], ['racy', racyEntry]] as const) {
      for (const [i, v] of variants.entries()) {
        t.is(loaded.vouchesFor(rel, v), entryMatches(entry, v), `${rel}, loaded, variant ${i}`);
        t.is(unsaved.vouchesFor(rel, v), entryMatches(entry, v), `${rel}, unsaved, variant ${i}`);
      }
    }
    t.true(loaded.vouchesFor('settled', st));
    t.false(loaded.vouchesFor('racy', st));
    t.false(loaded.vouchesFor('missing', st));
  });
});

test('a saved snapshot loads back field for field, and save replaces the whole root', async (t) => {
  await withFixture(async (dir, cache, reopen) => {
    const big: StatEntry = { size: 5n << 40n, mtimeNs: 1_700_000_000_123_456_789n, ctimeNs: 1_700_000_001_987_654_321n, ino: (1n << 62n) + 7n, dev: 2049n, mode: 0o4755, uid: 4_294_967_294, gid: 65534, digest: 'sha256:aa', entryDigest: 'sha256:bb', recordedNs: 1_700_000_009_000_000_001n };
    const small: StatEntry = { ...big, size: 0n, ino: 1n, mode: 0, uid: 0, gid: 0, digest: 'sha256:cc', entryDigest: 'sha256:dd' };
    const listing: DirEntry = { mtimeNs: 1n, ctimeNs: 2n, ino: 3n << 40n, dev: 4n, recordedNs: 5n, names: ['x', 'ü "y"\n'] };
    cache.save(dir, { files: records([['a/ü b\n"c', big], ['d', small]]), dirs: new Map([['', listing], ['e', { ...listing, names: [] }]]) });
    const loaded = (await reopen()).load(dir);
    t.deepEqual([...loaded.files], [['a/ü b\n"c', big], ['d', small]]);
    t.deepEqual([...loaded.dirs], [['', listing], ['e', { ...listing, names: [] }]]);
    // Loaded records changed in place (one replaced, one dropped, one added) save as changed.
    const edited = (await reopen()).load(dir);
    edited.files.set('d', { ...small, size: 9n });
    t.true(edited.files.delete('a/ü b\n"c'));
    t.false(edited.files.delete('a/ü b\n"c'));
    edited.files.set('new', big);
    t.is(edited.files.size, 2);
    t.deepEqual(edited.files.digests('d'), { digest: small.digest, entryDigest: small.entryDigest });
    t.is(edited.files.digests('a/ü b\n"c'), undefined);
    t.deepEqual((await reopen()).load(dir).files.digests('d'), { digest: small.digest, entryDigest: small.entryDigest }, 'read from the packed record');
    t.deepEqual([...edited.files.keys()].sort(), ['d', 'new']);
    cache.save(dir, edited);
    t.deepEqual([...(await reopen()).load(dir).files].sort(), [['d', { ...small, size: 9n }], ['new', big]]);
    cache.save(dir, { files: records([['d', small]]), dirs: new Map() });
    const replaced = (await reopen()).load(dir);
    t.deepEqual([...replaced.files.keys()], ['d']);
    t.is(replaced.dirs.size, 0);
    t.is((await reopen()).load(join(dir, 'other')).files.size, 0);
  });
});

test('a few changes are saved as a delta over the snapshot, many as a new snapshot', async (t) => {
  await withFixture(async (dir, cache, reopen, dbPath) => {
    const rows = (): { snapshot: string; deltas: number } => {
      const db = new Database(dbPath, { readonly: true });
      try {
        const snapshot = (db.prepare('SELECT names FROM context_stats_v3 WHERE root = ?').pluck().get(dir) as string | undefined) ?? '';
        return { snapshot, deltas: db.prepare('SELECT count(*) FROM context_stats_v3_delta WHERE root = ?').pluck().get(dir) as number };
      } finally {
        db.close();
      }
    };
    const entry = (i: number): StatEntry => ({ size: BigInt(i), mtimeNs: 1n, ctimeNs: 2n, ino: BigInt(i), dev: 4n, mode: 0o644, uid: 0, gid: 0, digest: `sha256:d${i}`, entryDigest: `sha256:e${i}`, recordedNs: 5n });
    const listing = (names: string[]): DirEntry => ({ mtimeNs: 1n, ctimeNs: 2n, ino: 3n, dev: 4n, recordedNs: 5n, names });
    const files: [string, StatEntry][] = Array.from({ length: 100 }, (_, i) => [`f${i}`, entry(i)]);
    cache.save(dir, { files: records(files), dirs: new Map([['', listing(['a'])], ['gone', listing([])]]) });
    const snapshot = rows().snapshot;

    const first = (await reopen()).load(dir);
    first.files.set('f1', entry(101));
    first.files.delete('f2');
    first.files.set('new', entry(102));
    first.dirs.set('', listing(['a', 'b']));
    first.dirs.delete('gone');
    cache.save(dir, first);
    t.deepEqual(rows(), { snapshot, deltas: 1 }, 'the snapshot stays as it was');
    const second = (await reopen()).load(dir);
    t.deepEqual(second.files.get('f1'), entry(101));
    t.is(second.files.get('f2'), undefined);
    t.deepEqual(second.files.get('new'), entry(102));
    t.deepEqual(second.files.get('f3'), entry(3));
    t.is(second.files.size, 100);
    t.deepEqual([...second.dirs], [['', listing(['a', 'b'])]]);

    // A delta saved again carries the earlier one's changes with its own.
    second.files.delete('new');
    second.files.set('f2', entry(103));
    cache.save(dir, second);
    t.deepEqual(rows(), { snapshot, deltas: 1 });
    const third = (await reopen()).load(dir);
    t.deepEqual([...third.files].sort(([a], [b]) => a.localeCompare(b)), [...files.filter(([rel]) => rel !== 'f1' && rel !== 'f2'), ['f1', entry(101)], ['f2', entry(103)]].sort(([a], [b]) => (a as string).localeCompare(b as string)));
    t.deepEqual([...third.dirs], [['', listing(['a', 'b'])]]);

    for (let i = 10; i < 20; i++) third.files.set(`f${i}`, entry(200 + i));
    cache.save(dir, third);
    const rewritten = rows();
    t.is(rewritten.deltas, 0, 'many changes make a new snapshot and drop the delta');
    t.not(rewritten.snapshot, snapshot);
    const fourth = (await reopen()).load(dir);
    t.deepEqual(fourth.files.get('f15'), entry(215));
    t.deepEqual(fourth.files.get('f1'), entry(101));
    t.is(fourth.files.size, 100);
  });
});

test('a directory listing is trusted only while mtime, ctime, inode and device match and are older than the record', (t) => {
  const now = 1_700_000_000_000_000_000n;
  const old = now - 3600_000_000_000n;
  const st: DirStat = { mtimeNs: old, ctimeNs: old, ino: 7n, dev: 1n };
  const rec: DirEntry = { ...st, names: ['a'], recordedNs: now };
  t.true(dirMatches(rec, st));
  t.false(dirMatches(rec, { ...st, mtimeNs: old + 1n }), 'an entry added or removed');
  t.false(dirMatches(rec, { ...st, ctimeNs: old + 1n }), 'mtime set back after a change');
  t.false(dirMatches(rec, { ...st, ino: 8n }), 'another directory at the path');
  t.false(dirMatches({ ...rec, mtimeNs: now, ctimeNs: now }, { ...st, mtimeNs: now, ctimeNs: now }), 'racy: changed within the timestamp of the record');
});

test('a file written right after hashing is caught on the next lookup', async (t) => {
  await withFixture(async (dir, cache) => {
    const file = join(dir, 'fresh');
    await writeFile(file, 'one!');
    await digestOf(cache, dir, 'fresh');
    await writeFile(file, 'two!');
    t.is(await digestOf(cache, dir, 'fresh'), sha256Digest('two!'));
  });
});
