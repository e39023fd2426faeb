/**
 * Child process for store-crash.test.ts: opens the store given as argv[2] (running recovery), says
 * "ready", then writes large blobs and tags small images that use them, forever, until killed.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { openStore } from '../cache/index.js';
import { buildManifest, MediaType } from '../oci/index.js';

const CHUNK = 1 << 20;

/** `mb` MiB of data unique to `seed`, generated while streaming. */
function generated(seed: Buffer, mb: number): Readable {
  const base = randomBytes(CHUNK);
  return Readable.from(
    (function* () {
      for (let i = 0; i < mb; i++) {
        const chunk = Buffer.from(base);
        seed.copy(chunk, 0);
        chunk.writeUInt32BE(i, seed.length);
        yield chunk;
      }
    })(),
  );
}

const store = await openStore(process.argv[2]!);
const mb = Number(process.argv[3] ?? 200);
process.stdout.write('ready\n');
for (let n = 0; ; n++) {
  const layer = await store.writeBlob(generated(randomBytes(16), mb), { mediaType: MediaType.ociLayerGzip });
  const config = await store.writeBlobBuffer(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${randomBytes(32).toString('hex')}`] } }),
  );
  const manifest = buildManifest({ mediaType: MediaType.ociConfig, ...config }, [{ mediaType: MediaType.ociLayerGzip, ...layer }]);
  const m = await store.writeBlobBuffer(JSON.stringify(manifest));
  await store.tagImage(`crash:${process.pid}-${n}`, m.digest);
}
