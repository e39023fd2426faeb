import test from 'ava';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { MediaType, sha256Digest, type Descriptor } from '../../oci/index.js';
import { withStore } from '../test-support.js';
import { BuildCache } from './build-cache.js';
import { INLINE_CACHE_FIELD, type LayerCacheRecord } from './format.js';
import type { ImportedCache } from './import.js';
import type { CacheLocation } from './location.js';

/** An in-memory cache location that counts blob reads. */
function memoryImport(blobs: Record<string, string>, records: Record<string, LayerCacheRecord>): { imp: ImportedCache; reads: string[] } {
  const reads: string[] = [];
  const descs = new Map<string, Descriptor>();
  for (const [digest, data] of Object.entries(blobs)) descs.set(digest, { mediaType: MediaType.ociLayerGzip, digest, size: data.length });
  const location: CacheLocation = {
    name: 'memory',
    readManifest: async () => undefined,
    readBlob: async () => Buffer.alloc(0),
    openBlob: (d) => {
      reads.push(d.digest);
      return Readable.from([Buffer.from(blobs[d.digest]!)]);
    },
    writeBlob: async () => undefined,
    writeManifest: async () => undefined,
    close: async () => undefined,
  };
  return { imp: { name: 'memory', records: new Map(Object.entries(records)), blobs: descs, mounts: [], location }, reads };
}

const record = (data: string): LayerCacheRecord => ({
  layer: { mediaType: MediaType.ociLayerGzip, digest: sha256Digest(data), size: data.length, diffID: sha256Digest(`diff-${data}`) },
  created: '2024-01-01T00:00:00Z',
});

test('imported records are hits whose blobs stay remote until read; a read fetches once and keeps the record locally', async (t) => {
  await withStore(async (store) => {
    const a = record('layer-a');
    const b = record('layer-b');
    const { imp, reads } = memoryImport({ [a.layer.digest]: 'layer-a', [b.layer.digest]: 'layer-b' }, { ka: a, kb: b });
    const cache = new BuildCache([imp]);
    const view = cache.attach(store);

    t.deepEqual(view.getCacheRecord('ka'), a);
    t.true(await view.hasBlob(a.layer.digest));
    t.false(existsSync(store.blobPath(a.layer.digest)), 'a hit alone fetches nothing');
    t.is(store.getCacheRecord('ka'), undefined);

    t.is(await text(view.openBlob(a.layer.digest)), 'layer-a');
    t.is(await text(view.openBlob(a.layer.digest)), 'layer-a');
    t.deepEqual(reads, [a.layer.digest], 'fetched once');
    t.deepEqual(store.getCacheRecord('ka'), a, 'the record is now the root\'s own');
    t.is(store.getCacheRecord('kb'), undefined, 'records never hit are not copied');
    t.is(view.getCacheRecord('missing'), undefined);
  });
});

test('export selection: max keeps every record used or made, min only the final image\'s; inline puts min records in the config', async (t) => {
  await withStore(async (store) => {
    const a = record('layer-a');
    const b = record('layer-b');
    const c = record('layer-c');
    const { imp } = memoryImport({ [a.layer.digest]: 'layer-a' }, { ka: a });
    const cache = new BuildCache([imp], { inline: true });
    const view = cache.attach(store);
    view.getCacheRecord('ka');
    view.putCacheRecord('kb', b, [b.layer.digest]);
    view.putCacheRecord('explain:x', { key: 'kb' });
    store.putCacheRecord('kc', c, [c.layer.digest]);

    t.deepEqual([...cache.records('max', [b.layer]).keys()], ['ka', 'kb']);
    t.deepEqual([...cache.records('min', [b.layer]).keys()], ['kb']);
    t.deepEqual(cache.configFields([b.layer]), { [INLINE_CACHE_FIELD]: { records: { kb: b } } });
    t.deepEqual(new BuildCache().configFields([b.layer]), {});
  });
});
