import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { packLayer, type Compression } from './index.js';
import { snapshotTree } from './test-support.js';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Writes a one-layer OCI image layout by hand (the image format code is not this folder's). */
async function writeLayout(dir: string, blob: Buffer, layer: { digest: string; diffID: string; size: number; mediaType: string }): Promise<void> {
  const blobs = join(dir, 'blobs/sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (data: Buffer): Promise<{ digest: string; size: number }> => {
    const hex = createHash('sha256').update(data).digest('hex');
    await writeFile(join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  await put(blob);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [layer.diffID] } }));
  const c = await put(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    }),
  );
  const m = await put(manifest);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }),
  );
}

// umoci 0.4.7 reads gzip and uncompressed layers (not zstd); it checks digests and diffIDs while unpacking.
for (const compression of ['gzip', 'none'] as Compression[]) {
  test(`umoci unpacks a kiln ${compression} layer (verifying its diffID) to the same tree`, async (t) => {
    const base = await mkdtemp(join(tmpdir(), 'kiln-umoci-'));
    t.teardown(() => rm(base, { recursive: true, force: true }));
    const src = join(base, 'src');
    await mkdir(join(src, 'etc'), { recursive: true });
    await writeFile(join(src, 'etc/hostname'), 'kiln\n');
    await mkdir(join(src, 'usr/share/doc'), { recursive: true });
    await writeFile(join(src, 'usr/share/doc/readme'), 'x'.repeat(10_000));
    const { stream, result } = packLayer(src, { compression });
    const blob = await collect(stream);
    const layer = await result;
    await writeLayout(join(base, 'image'), blob, layer);
    const rootfs = join(base, 'rootfs');
    execFileSync('umoci', ['raw', 'unpack', '--image', `${join(base, 'image')}:latest`, rootfs], { stdio: 'pipe' });
    // umoci gives the rootfs dir itself its own mode/mtime; compare contents.
    t.deepEqual(await snapshotTree(rootfs), await snapshotTree(src));
  });
}
