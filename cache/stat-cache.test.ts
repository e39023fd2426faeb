import test from 'ava';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFiles, openStore, StatCache, entryMatches, type HashTarget, type StatEntry } from './index.js';
import { sha256Digest } from '../oci/index.js';

async function target(dir: string, rel: string): Promise<HashTarget> {
  const st = await stat(join(dir, rel), { bigint: true });
  return { rel, path: join(dir, rel), size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: st.ino, dev: st.dev };
}

async function withFixture(fn: (dir: string, cache: StatCache, reopen: () => Promise<StatCache>) => Promise<void>): Promise<void> {
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
    await fn(dir, await reopen(), reopen);
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
    const first = await hashFiles(cache, dir, cache.load(dir), [await target(dir, 'a')]);
    t.is(first.get('a'), sha256Digest('hello'));
    const again = await reopen();
    const known = again.load(dir);
    t.true(entryMatches(known.get('a')!, await target(dir, 'a')));
  });
});

test('same size and mtime (set back with utimes) but different bytes is detected', async (t) => {
  await withFixture(async (dir, cache) => {
    const file = join(dir, 'f');
    await writeFile(file, 'AAAA');
    const old = new Date(Date.now() - 3600_000);
    await utimes(file, old, old);
    const before = await stat(file, { bigint: true });
    t.is((await hashFiles(cache, dir, cache.load(dir), [await target(dir, 'f')])).get('f'), sha256Digest('AAAA'));

    await writeFile(file, 'BBBB');
    await utimes(file, old, old);
    const after = await stat(file, { bigint: true });
    t.is(after.size, before.size);
    t.is(after.mtimeNs, before.mtimeNs);
    t.is((await hashFiles(cache, dir, cache.load(dir), [await target(dir, 'f')])).get('f'), sha256Digest('BBBB'));
  });
});

test('a racily clean entry (mtime not older than the record) is re-hashed even when every stat field matches', (t) => {
  const now = 1_700_000_000_000_000_000n;
  const st = { size: 4n, mtimeNs: now, ctimeNs: now, ino: 1n, dev: 1n };
  const racy: StatEntry = { ...st, digest: 'sha256:x', recordedNs: now };
  t.false(entryMatches(racy, st));
  t.true(entryMatches({ ...racy, recordedNs: now + 1_000_000_000n }, st));
  t.false(entryMatches({ ...racy, recordedNs: now + 1_000_000_000n }, { ...st, ino: 2n }));
  t.false(entryMatches({ ...racy, recordedNs: now + 1_000_000_000n }, { ...st, ctimeNs: now + 1n }));
});

test('a file written right after hashing is caught on the next lookup', async (t) => {
  await withFixture(async (dir, cache) => {
    const file = join(dir, 'fresh');
    await writeFile(file, 'one!');
    await hashFiles(cache, dir, cache.load(dir), [await target(dir, 'fresh')]);
    await writeFile(file, 'two!');
    t.is((await hashFiles(cache, dir, cache.load(dir), [await target(dir, 'fresh')])).get('fresh'), sha256Digest('two!'));
  });
});
