import test from 'ava';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { openStore } from '../../cache/index.js';
import { sha256Digest } from './digest.js';
import { loadArchive } from './load.js';

/** A one-file layer tar, in memory (tests only). */
function layerTar(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = tar.pack();
    const chunks: Buffer[] = [];
    p.on('data', (c: unknown) => void chunks.push(c as Buffer)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
    p.entry({ name: 'hello.txt', mode: 0o644, mtime: new Date(0) }, 'hello\n');
    p.finalize();
  });
}

function writeArchive(file: string, entries: [string, Buffer | string][]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = tar.pack();
    p.pipe(createWriteStream(file)).on('finish', resolve).on('error', reject);
    for (const [name, data] of entries) p.entry({ name, mtime: new Date(0) }, data);
    p.finalize();
  });
}

test('a docker-archive with manifest.json first and a gzipped layer keeps the blob and computes the diffID', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-load-'));
  const store = await openStore(join(dir, 'root'));
  try {
    const plain = await layerTar();
    const gz = gzipSync(plain);
    const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest(plain)] } });
    const file = join(dir, 'a.tar');
    await writeArchive(file, [
      ['manifest.json', JSON.stringify([{ Config: 'cfg.json', RepoTags: ['example/app:1'], Layers: ['l1/layer.tar'] }])],
      ['cfg.json', config],
      ['l1/layer.tar', gz],
    ]);
    const [img] = await loadArchive(store, file);
    t.deepEqual(img!.names, ['docker.io/example/app:1']);
    await store.tagImage(img!.names[0]!, img!.manifestDigest);
    const r = await store.resolveImage('example/app:1');
    t.is(r.configDigest, sha256Digest(config));
    t.deepEqual(r.layers.map((l) => [l.digest, l.diffID, l.mediaType]), [[sha256Digest(gz), sha256Digest(plain), 'application/vnd.oci.image.layer.v1.tar+gzip']]);
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('archives that are incomplete or inconsistent are E_ARCHIVE errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-load-'));
  const store = await openStore(join(dir, 'root'));
  try {
    const plain = await layerTar();
    const missing = join(dir, 'missing.tar');
    const manifest = JSON.stringify({ schemaVersion: 2, config: { digest: sha256Digest('nope'), size: 4 }, layers: [] });
    await writeArchive(missing, [
      ['oci-layout', '{"imageLayoutVersion":"1.0.0"}'],
      [`blobs/sha256/${sha256Digest(manifest).slice(7)}`, manifest],
      ['index.json', JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256Digest(manifest), size: manifest.length }] })],
    ]);
    const e1 = await t.throwsAsync(loadArchive(store, missing));
    t.is((e1 as { code?: string }).code, 'E_ARCHIVE');
    t.regex(e1!.message, /config .* is missing/);

    const wrongDiff = join(dir, 'wrong.tar');
    await writeArchive(wrongDiff, [
      ['manifest.json', JSON.stringify([{ Config: 'c.json', RepoTags: null, Layers: ['l/layer.tar'] }])],
      ['c.json', JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest('other')] } })],
      ['l/layer.tar', plain],
    ]);
    const e2 = await t.throwsAsync(loadArchive(store, wrongDiff));
    t.is((e2 as { code?: string }).code, 'E_ARCHIVE');

    const neither = join(dir, 'neither.tar');
    await writeArchive(neither, [['hello', 'x']]);
    t.is(((await t.throwsAsync(loadArchive(store, neither))) as { code?: string }).code, 'E_ARCHIVE');
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
