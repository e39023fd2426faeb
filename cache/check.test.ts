import test from 'ava';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaType, sha256Digest } from '../oci/index.js';
import { checkStore, openStore, repairStore, type StoreFinding } from './index.js';
import { fakeImage, withStore } from './test-support.js';

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

const kinds = (fs: StoreFinding[]) => fs.map((f) => f.kind).sort();

test('a healthy store is clean, and every blob is hashed', async (t) => {
  await withStore(async (s, root) => {
    await fakeImage(s, 'ok');
    const r = await checkStore(root);
    t.deepEqual(r.findings, []);
    t.is(r.blobsVerified, 3);
  });
});

test('each planted problem is found, repaired, and the store is clean afterwards', async (t) => {
  await withStore(async (s, root) => {
    const layout = s.layout;
    const kept = await fakeImage(s, 'kept');
    // corrupt-blob: same name, other bytes.
    const corrupt = await s.writeBlobBuffer('will be corrupted');
    await writeFile(layout.blobPath(corrupt.digest), 'flipped bits');
    // stray-blob-file
    await writeFile(join(layout.blobsDir, 'not-a-digest'), 'x');
    // broken-image: an image whose layer file went away.
    const broken = await fakeImage(s, 'broken');
    await s.registerImage(broken.manifestDigest);
    await rm(layout.blobPath(broken.layerDigest));
    // broken-cache-record: a record needing a blob that is gone.
    const gone = await s.writeBlobBuffer('gone layer');
    s.putCacheRecord('rec-broken', { layer: gone.digest }, [gone.digest]);
    s.putCacheRecord('rec-fine', { layer: kept.layerDigest }, [kept.layerDigest]);
    await rm(layout.blobPath(gone.digest));
    // orphan-snapshot and missing-snapshot
    await mkdir(join(layout.snapshotsDir, 'abcdef012345', 'etc'), { recursive: true });
    const dead = deadPid();
    const db = new Database(layout.dbPath);
    db.prepare('INSERT INTO snapshots (diff_id, dir) VALUES (?, ?)').run(sha256Digest('no dir'), '000000000000');
    // dangling-tag
    db.prepare('INSERT INTO tags (name, manifest_digest, updated_at) VALUES (?, ?, 0)').run('docker.io/library/ghost:latest', sha256Digest('ghost'));
    // stale-session holding a blob whose file a crash never renamed in: missing-blob once the session is gone.
    const lost = sha256Digest('lost');
    db.prepare('INSERT INTO sessions (id, pid, started_at) VALUES (?, ?, 0)').run(`${dead}-dead`, dead);
    db.prepare('INSERT INTO holds (session, digest) VALUES (?, ?)').run(`${dead}-dead`, lost);
    db.prepare('INSERT INTO blobs (digest, size, created_at) VALUES (?, 1, 0)').run(lost);
    // missing-blob with no session at all.
    db.prepare('INSERT INTO blobs (digest, size, created_at) VALUES (?, 1, 0)').run(sha256Digest('row only'));
    db.close();
    // leftover-temp: one of a dead writer, one kiln never named; a live writer's temp is not a finding.
    await writeFile(join(layout.tmpDir, `${dead}.blob.abcd`), 'partial');
    await mkdir(join(layout.tmpDir, 'junk'));
    await writeFile(join(layout.tmpDir, `${process.pid}.blob.live`), 'in progress');

    const found = await checkStore(root);
    t.deepEqual(kinds(found.findings), [
      'broken-cache-record',
      'broken-image',
      'corrupt-blob',
      'dangling-tag',
      'leftover-temp',
      'leftover-temp',
      'missing-blob',
      'missing-blob',
      'missing-snapshot',
      'orphan-snapshot',
      'stale-session',
      'stray-blob-file',
    ]);
    t.is(found.findings.find((f) => f.kind === 'corrupt-blob')?.subject, corrupt.digest);
    t.is(found.findings.find((f) => f.kind === 'broken-image')?.subject, broken.manifestDigest);
    t.is(found.findings.find((f) => f.kind === 'broken-cache-record')?.subject, 'rec-broken');

    const fixed = await repairStore(root);
    // The dead session's held row shows up as missing only once recovery ended the session; repair removes it too.
    t.deepEqual(kinds(fixed.remaining), ['broken-image'], JSON.stringify(fixed.remaining));
    t.false(existsSync(layout.blobPath(corrupt.digest)));
    t.false(existsSync(join(layout.snapshotsDir, 'abcdef012345')));
    t.true(existsSync(join(layout.tmpDir, `${process.pid}.blob.live`)));
    t.deepEqual((await readdir(layout.tmpDir)).sort(), [`${process.pid}.blob.live`]);
    t.deepEqual(s.getCacheRecord('rec-fine'), { layer: kept.layerDigest });
    t.is(s.getCacheRecord('rec-broken'), undefined);
    // What is left needs the user; once the broken image is gone the store is clean.
    s.removeImage(broken.manifestDigest);
    t.deepEqual((await checkStore(root)).findings, []);
  });
});

test('a blob held by a live session but not yet renamed in is not missing', async (t) => {
  await withStore(async (s, root) => {
    const b = await s.writeBlobBuffer('in flight');
    await rm(s.layout.blobPath(b.digest));
    t.deepEqual((await checkStore(root)).findings, []);
  });
});

test("a killed build's unrecorded layer dir is an orphan until the next kiln process's recovery removes it", async (t) => {
  await withStore(async (s, root) => {
    const dead = deadPid();
    const unclaimed = join(s.layout.snapshotsDir, `p${dead}.unclaimed`);
    const recorded = join(s.layout.snapshotsDir, `p${dead}.recorded`);
    await mkdir(join(unclaimed, 'etc'), { recursive: true });
    await mkdir(recorded);
    t.true(s.recordLayerDir(sha256Digest('recorded layer'), recorded));
    // A killed build dies with its session open; recovery looks for its leftovers only then.
    const db = new Database(s.layout.dbPath);
    db.prepare('INSERT INTO sessions (id, pid, started_at) VALUES (?, ?, 0)').run(`${dead}-killed`, dead);
    db.close();
    t.deepEqual(
      (await checkStore(root)).findings.map((f) => [f.kind, f.subject]),
      [['stale-session', `${dead}-killed`], ['orphan-snapshot', unclaimed]],
    );
    (await openStore(root)).close();
    t.false(existsSync(unclaimed));
    t.true(existsSync(recorded));
    // The tree went to tmp/ for a background rm, which a live rm is excused for while it works.
    for (let i = 0; i < 100 && (await checkStore(root)).findings.length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    t.deepEqual((await checkStore(root)).findings, []);
  });
});

test("an index image is whole with only the host platform's manifest fetched", async (t) => {
  await withStore(async (s, root) => {
    const img = await fakeImage(s, 'amd64');
    const manifest = { mediaType: MediaType.ociManifest, size: 1 };
    const index = await s.writeJson({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { ...manifest, digest: img.manifestDigest, platform: { architecture: 'amd64', os: 'linux' } },
        { ...manifest, digest: sha256Digest('arm64 manifest, never pulled'), platform: { architecture: 'arm64', os: 'linux' } },
      ],
    });
    await s.registerImage(index.digest);
    t.deepEqual((await checkStore(root)).findings, []);
    // A manifest that was fetched must be whole, though.
    await rm(s.layout.blobPath(img.layerDigest));
    t.deepEqual(
      (await checkStore(root)).findings.map((f) => f.kind),
      ['broken-image'],
    );
  });
});

test("a layer's compressed copy is not part of its image: reading one is no error, and losing one breaks nothing", async (t) => {
  await withStore(async (s, root) => {
    const img = await fakeImage(s, 'plain');
    await s.registerImage(img.manifestDigest);
    // A tar does not start with '{'; a copy made for a push is recorded as the layer's child.
    const copy = await s.writeBlobBuffer(Buffer.from('\x1f\x8b a compressed copy'), { mediaType: MediaType.ociLayerGzip });
    s.addRefs(img.layerDigest, [copy.digest]);
    t.deepEqual((await checkStore(root)).findings, []);
    await rm(s.blobPath(copy.digest));
    const kindsFound = kinds((await checkStore(root)).findings);
    t.false(kindsFound.includes('broken-image'), kindsFound.join(', '));
  });
});
