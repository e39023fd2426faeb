import test from 'ava';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { withStore } from '../../cache/test-support.js';
import { openStore, type Store } from '../../cache/index.js';
import { createDecompressor } from '../layer/index.js';
import { exportLayers, type ExportableImage } from './convert.js';
import { sha256Digest } from './digest.js';
import { MediaType } from './media-types.js';
import type { ImageManifest, LayerDescriptor } from './types.js';

/** Tar-like bytes: exportLayers never parses the tar, it only moves it between compressions. */
const PLAIN = Buffer.from('a layer tar, as a build stores it\n'.repeat(2000));
const BASE = Buffer.from('a base image layer\n'.repeat(500));

/** An image of a gzip base layer (as pulled) and a plain layer (as built), stored in `s`. */
async function image(s: Store, manifestType: string = MediaType.ociManifest): Promise<ExportableImage & { configDigest: string }> {
  const baseBlob = gzipSync(BASE);
  await s.writeBlobBuffer(baseBlob);
  await s.writeBlobBuffer(PLAIN);
  const config = await s.writeJson({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest(BASE), sha256Digest(PLAIN)] } });
  const docker = manifestType === MediaType.dockerManifest;
  const layers: LayerDescriptor[] = [
    { mediaType: docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, digest: sha256Digest(baseBlob), size: baseBlob.length, diffID: sha256Digest(BASE) },
    { mediaType: docker ? MediaType.dockerLayer : MediaType.ociLayer, digest: sha256Digest(PLAIN), size: PLAIN.length, diffID: sha256Digest(PLAIN) },
  ];
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: manifestType,
    config: { mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig, digest: config.digest, size: config.size },
    layers: layers.map(({ diffID: _d, ...l }, i) => (i === 0 ? { ...l, annotations: { kept: 'yes' } } : l)),
  };
  const m = await s.writeJson(manifest);
  return { manifestDigest: m.digest, manifest, layers, configDigest: config.digest };
}

async function plainOf(s: Store, l: { digest: string; mediaType: string }): Promise<Buffer> {
  const blob = await s.readBlob(l.digest);
  if (l.mediaType.endsWith('gzip')) return gunzipSync(blob);
  const chunks: Buffer[] = [];
  const d = createDecompressor(l.mediaType.endsWith('zstd') ? 'zstd' : 'none');
  d.end(blob);
  for await (const c of d) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('by default only the plain layers are gzipped; the stored manifest lists the new blob and keeps the rest', async (t) => {
  await withStore(async (s) => {
    const img = await image(s);
    const out = await exportLayers(s, img);
    t.not(out.manifestDigest, img.manifestDigest);
    t.deepEqual(out.layers[0], img.layers[0]);
    t.is(out.layers[1]!.mediaType, MediaType.ociLayerGzip);
    t.is(out.layers[1]!.diffID, sha256Digest(PLAIN));
    t.deepEqual(await plainOf(s, out.layers[1]!), PLAIN);
    const stored = await s.readJson<ImageManifest>(out.manifestDigest);
    t.deepEqual(stored, out.manifest);
    t.deepEqual(stored.layers[0], img.manifest.layers[0], 'annotations of an unchanged layer stay');
    t.deepEqual(stored.config, img.manifest.config);
    t.false('diffID' in stored.layers[1]!);
  });
});

test('the compressed copy is made once and found again, and GC keeps it with its layer', async (t) => {
  await withStore(async (s) => {
    const img = await image(s);
    const first = await exportLayers(s, img);
    const writes: string[] = [];
    const writeBlob = s.writeBlob.bind(s);
    s.writeBlob = async (stream, opts) => {
      const r = await writeBlob(stream, opts);
      writes.push(r.digest);
      return r;
    };
    const again = await exportLayers(s, img);
    t.deepEqual(again.layers, first.layers);
    t.is(again.manifestDigest, first.manifestDigest);
    t.deepEqual(writes, [], 'no layer compressed a second time');
    s.recordImage(img.manifestDigest, img.manifest, await s.readJson(img.configDigest), []);
    const reopened = await openStore(s.root);
    s.close();
    try {
      t.false(reopened.gcCandidates().includes(first.layers[1]!.digest), 'kept while its layer is');
      t.false(reopened.gcCandidates().includes(first.manifestDigest), 'the exported manifest too, so a pushed digest still resolves');
      t.is((await reopened.resolveImage(`registry.example/app@${first.manifestDigest}`)).configDigest, img.configDigest);
      reopened.removeImage(img.manifestDigest);
      t.true(reopened.gcCandidates().includes(first.layers[1]!.digest), 'and no longer');
      t.true(reopened.gcCandidates().includes(first.manifestDigest));
    } finally {
      reopened.close();
    }
  });
});

test('an explicit level is honoured and never taken from, or recorded as, the kept copy', async (t) => {
  await withStore(async (s) => {
    const img = await image(s);
    const kept = await exportLayers(s, img);
    const best = await exportLayers(s, img, { compression: 'gzip', level: 9 });
    t.not(best.layers[1]!.digest, kept.layers[1]!.digest);
    t.deepEqual(await plainOf(s, best.layers[1]!), PLAIN);
    t.is((await exportLayers(s, img)).layers[1]!.digest, kept.layers[1]!.digest);
  });
});

test('zstd: plain layers only, unless forced; a Docker manifest becomes an OCI one', async (t) => {
  await withStore(async (s) => {
    const img = await image(s, MediaType.dockerManifest);
    const out = await exportLayers(s, img, { compression: 'zstd' });
    t.is(out.manifest.mediaType, MediaType.ociManifest);
    t.is(out.manifest.config.mediaType, MediaType.ociConfig);
    t.deepEqual(
      out.layers.map((l) => l.mediaType),
      [MediaType.ociLayerGzip, MediaType.ociLayerZstd],
    );
    t.is(out.layers[0]!.digest, img.layers[0]!.digest);
    t.deepEqual(await plainOf(s, out.layers[1]!), PLAIN);
    const forced = await exportLayers(s, img, { compression: 'zstd', force: true });
    t.deepEqual(
      forced.layers.map((l) => l.mediaType),
      [MediaType.ociLayerZstd, MediaType.ociLayerZstd],
    );
    t.deepEqual(await plainOf(s, forced.layers[0]!), BASE);
  });
});

test('a Docker manifest keeps Docker media types for gzip; uncompressed asks for nothing unless forced', async (t) => {
  await withStore(async (s) => {
    const img = await image(s, MediaType.dockerManifest);
    const out = await exportLayers(s, img);
    t.is(out.manifest.mediaType, MediaType.dockerManifest);
    t.is(out.layers[1]!.mediaType, MediaType.dockerLayerGzip);
    t.is(await exportLayers(s, img, { compression: 'none' }), img);
    const plain = await exportLayers(s, img, { compression: 'none', force: true });
    t.is(plain.layers[0]!.mediaType, MediaType.dockerLayer);
    t.is(plain.layers[0]!.digest, sha256Digest(BASE));
  });
});

test('an image with nothing to compress is returned as it is', async (t) => {
  await withStore(async (s) => {
    const img = await image(s);
    const gz = await exportLayers(s, img);
    t.is(await exportLayers(s, gz), gz);
  });
});

test('a stored layer whose tar is not its diffID is refused, not passed on', async (t) => {
  await withStore(async (s) => {
    const img = await image(s);
    const bad = { ...img, layers: [img.layers[0]!, { ...img.layers[1]!, diffID: sha256Digest('something else') }] };
    const before = await readdir(join(s.root, 'blobs', 'sha256'));
    await t.throwsAsync(exportLayers(s, bad), { code: 'E_LAYER_CORRUPT', message: /uncompresses to sha256:[0-9a-f]{64}, but the image config says/ });
    t.deepEqual(await readdir(join(s.root, 'blobs', 'sha256')), before, 'no copy of the wrong tar is stored');
    t.deepEqual((await readdir(join(s.root, 'tmp'))).filter((f) => f.includes('.blob.')), [], 'nor left half-written');
    const gone = { ...img, layers: [img.layers[0]!, { ...img.layers[1]!, digest: sha256Digest('not stored') }] };
    await t.throwsAsync(exportLayers(s, gone), { code: 'E_BLOB_NOT_FOUND' });
    t.deepEqual((await readdir(join(s.root, 'tmp'))).filter((f) => f.includes('.blob.')), [], 'a missing layer starts no blob');
  });
});
