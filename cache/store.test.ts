import test from 'ava';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { sha256Digest, type ImageConfig, type ImageManifest } from '../oci/index.js';
import { openStore } from './index.js';
import { fakeImage, withStore } from './test-support.js';

test('writeBlob stores content under its digest and reads it back', async (t) => {
  await withStore(async (s) => {
    const { digest, size } = await s.writeBlob(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    t.is(digest, sha256Digest('hello world'));
    t.is(size, 11);
    t.true(await s.hasBlob(digest));
    t.is((await readFile(s.blobPath(digest))).toString(), 'hello world');
    const chunks: Buffer[] = [];
    for await (const c of s.openBlob(digest)) chunks.push(c as Buffer);
    t.is(Buffer.concat(chunks).toString(), 'hello world');
    t.deepEqual(await readdir(join(s.root, 'tmp')), []);
  });
});

test('writeBlobBuffer of a blob already stored keeps the file, and writes it again when the file is gone', async (t) => {
  await withStore(async (s) => {
    const first = await s.writeBlobBuffer('same bytes');
    const again = await s.writeBlobBuffer('same bytes');
    t.deepEqual(again, first);
    await rm(s.blobPath(first.digest));
    const rewritten = await s.writeBlobBuffer('same bytes');
    t.deepEqual(rewritten, first);
    t.is((await readFile(s.blobPath(first.digest))).toString(), 'same bytes');
    t.deepEqual(await readdir(join(s.root, 'tmp')), []);
  });
});

test('writeBlob rejects a digest or size mismatch and leaves nothing behind', async (t) => {
  await withStore(async (s) => {
    const wrong = sha256Digest('other');
    const e = await t.throwsAsync(s.writeBlobBuffer('data', { expectedDigest: wrong }));
    t.is((e as { code?: string }).code, 'E_STORE_DIGEST');
    const e2 = await t.throwsAsync(s.writeBlobBuffer('data', { expectedSize: 3 }));
    t.is((e2 as { code?: string }).code, 'E_STORE_SIZE');
    t.false(await s.hasBlob(wrong));
    t.false(await s.hasBlob(sha256Digest('data')));
    t.deepEqual(await readdir(join(s.root, 'tmp')), []);
    t.deepEqual(await readdir(join(s.root, 'blobs', 'sha256')), []);
  });
});

test('writeBlobBuffer writes a small new blob whole and a big one streamed, each under its digest', async (t) => {
  await withStore(async (s) => {
    for (const bytes of [Buffer.from('{"small":true}'), Buffer.alloc(256 * 1024 + 1, 3)]) {
      const other = await openStore(s.root);
      try {
        const results = await Promise.all([s.writeBlobBuffer(bytes), other.writeBlobBuffer(bytes)]);
        t.true(results.every((r) => r.digest === sha256Digest(bytes) && r.size === bytes.length));
        t.true((await readFile(s.blobPath(sha256Digest(bytes)))).equals(bytes));
      } finally {
        other.close();
      }
    }
    t.deepEqual(await readdir(join(s.root, 'tmp')), []);
  });
});

test('concurrent writers of one blob both succeed and one copy remains', async (t) => {
  await withStore(async (s) => {
    const root = s.root;
    const other = await openStore(root);
    try {
      const big = Buffer.alloc(4 << 20, 7);
      const results = await Promise.all([s.writeBlobBuffer(big), other.writeBlobBuffer(big), s.writeBlobBuffer(big)]);
      t.true(results.every((r) => r.digest === sha256Digest(big)));
      t.deepEqual(await readdir(join(root, 'blobs', 'sha256')), [sha256Digest(big).slice(7)]);
    } finally {
      other.close();
    }
  });
});

test('images resolve by name, normalised name, id, id prefix and manifest digest', async (t) => {
  await withStore(async (s) => {
    const img = await fakeImage(s, 'a');
    t.is(await s.tagImage('busybox', img.manifestDigest), 'docker.io/library/busybox:latest');
    for (const ref of ['busybox', 'busybox:latest', 'docker.io/library/busybox:latest', img.configDigest, img.configDigest.slice(7, 19), img.manifestDigest]) {
      const r = await s.resolveImage(ref);
      t.is(r.configDigest, img.configDigest, ref);
      t.is(r.layers[0]!.diffID, sha256Digest('diff-a'));
    }
    t.is((await s.resolveImage('busybox')).name, 'docker.io/library/busybox:latest');
    const e = await t.throwsAsync(s.resolveImage('alpine'));
    t.is((e as { code?: string }).code, 'E_IMAGE_NOT_FOUND');
    t.truthy((e as { hint?: string }).hint);
  });
});

test('recordImage records a built image and its names as registerImage and tagImage do, without reading them back', async (t) => {
  await withStore(async (s, root) => {
    const rows = (manifestDigest: string) => {
      const db = new Database(join(root, 'index.db'), { readonly: true });
      try {
        return {
          refs: db.prepare('SELECT child FROM refs WHERE parent = ? ORDER BY child').all(manifestDigest),
          image: db.prepare('SELECT config_digest, created_at FROM images WHERE manifest_digest = ?').get(manifestDigest),
          names: s.imageNames(manifestDigest),
        };
      } finally {
        db.close();
      }
    };
    const a = await fakeImage(s, 'a');
    await s.tagImage('a:1', a.manifestDigest);
    const b = await fakeImage(s, 'b');
    const manifest = await s.readJson<ImageManifest>(b.manifestDigest);
    const config = await s.readJson<ImageConfig>(b.configDigest);
    // Gone from disk, so a read back would fail: recordImage has to use what it is given.
    await rm(s.blobPath(b.manifestDigest));
    await rm(s.blobPath(b.configDigest));
    t.deepEqual(s.recordImage(b.manifestDigest, manifest, config, ['b:1', 'b:2']), ['docker.io/library/b:1', 'docker.io/library/b:2']);
    const expected = (x: typeof a, names: string[]) => ({
      refs: [x.configDigest, x.layerDigest].sort().map((child) => ({ child })),
      image: { config_digest: x.configDigest, created_at: Date.parse('2024-01-01T00:00:00Z') },
      names,
    });
    t.deepEqual(rows(a.manifestDigest), expected(a, ['docker.io/library/a:1']));
    t.deepEqual(rows(b.manifestDigest), expected(b, ['docker.io/library/b:1', 'docker.io/library/b:2']));
  });
});

test('rmi semantics: untag keeps a still-named image, gc removes only unreferenced blobs', async (t) => {
  await withStore(async (s) => {
    const a = await fakeImage(s, 'a');
    const b = await fakeImage(s, 'b');
    await s.tagImage('a:1', a.manifestDigest);
    await s.tagImage('a:2', a.manifestDigest);
    await s.tagImage('b', b.manifestDigest);
    s.putCacheRecord('k1', { result: b.layerDigest }, [b.layerDigest]);
    t.deepEqual(s.getCacheRecord('k1'), { result: b.layerDigest });
    const reopened = await openStore(s.root);
    s.close();
    try {
      t.false(reopened.untag('a:1').removedImage);
      t.deepEqual(reopened.gcCandidates(), []);
      t.true(reopened.untag('a:2').removedImage);
      t.true(reopened.untag('b').removedImage);
      const { removed } = await reopened.gc();
      t.deepEqual(removed, [a.manifestDigest, a.configDigest, a.layerDigest, b.manifestDigest, b.configDigest].sort());
      // hasBlob would hold the blob for this session, so look at the file itself.
      t.true(existsSync(reopened.blobPath(b.layerDigest)), 'kept by the cache record');
      reopened.deleteCacheRecord('k1');
      t.deepEqual((await reopened.gc()).removed, [b.layerDigest]);
    } finally {
      reopened.close();
    }
  });
});

test('withLock excludes other holders of the same lock', async (t) => {
  await withStore(async (s) => {
    const other = await openStore(s.root);
    try {
      const order: string[] = [];
      await Promise.all([
        s.withLock('x', async () => {
          order.push('a-in');
          await new Promise((r) => setTimeout(r, 100));
          order.push('a-out');
        }),
        new Promise((r) => setTimeout(r, 20)).then(() => other.withLock('x', async () => void order.push('b'))),
      ]);
      t.deepEqual(order, ['a-in', 'a-out', 'b']);
    } finally {
      other.close();
    }
  });
});

test('openStore removes temp files of dead writers and index rows for blobs they never finished', async (t) => {
  await withStore(async (s) => {
    const root = s.root;
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout);
    await writeFile(join(root, 'tmp', `${deadPid}.blob.abc`), 'partial');
    await writeFile(join(root, 'tmp', `${process.pid}.blob.live`), 'in progress');
    // A dead session that recorded a blob but died before renaming it in.
    const db = new Database(join(root, 'index.db'));
    db.prepare('INSERT INTO sessions (id, pid, started_at) VALUES (?, ?, 0)').run('dead', deadPid);
    db.prepare('INSERT INTO blobs (digest, size, created_at) VALUES (?, 1, 0)').run(sha256Digest('never renamed'));
    db.prepare('INSERT INTO holds (session, digest) VALUES (?, ?)').run('dead', sha256Digest('never renamed'));
    db.close();
    const again = await openStore(root);
    try {
      t.deepEqual(await readdir(join(root, 'tmp')), [`${process.pid}.blob.live`]);
      const check = new Database(join(root, 'index.db'), { readonly: true });
      t.is((check.prepare('SELECT COUNT(*) AS n FROM blobs WHERE digest = ?').get(sha256Digest('never renamed')) as { n: number }).n, 0);
      t.is((check.prepare("SELECT COUNT(*) AS n FROM sessions WHERE id = 'dead'").get() as { n: number }).n, 0);
      check.close();
    } finally {
      again.close();
    }
  });
});

test('adoptLayerDir renames a directory in as a snapshot, once per diffID', async (t) => {
  await withStore(async (s) => {
    const diffID = sha256Digest('upper');
    const upper = join(s.root, 'tmp', `${process.pid}.upper`);
    await mkdir(upper);
    await writeFile(join(upper, 'f'), 'x');
    const snap = await s.adoptLayerDir(diffID, upper);
    t.is(snap, join(s.root, 'snapshots', diffID.slice(7, 19)));
    t.false(existsSync(upper));
    t.is((await readFile(join(snap, 'f'))).toString(), 'x');
    const second = join(s.root, 'tmp', `${process.pid}.upper2`);
    await mkdir(second);
    t.is(await s.adoptLayerDir(diffID, second), snap);
    t.false(existsSync(second), 'the duplicate is removed');
    t.is(await s.layerDir({ digest: sha256Digest('no blob needed'), diffID }), snap, 'layerDir finds the adopted dir');
  });
});
