/** Test helper: builds small multi-layer images straight into a store from directories. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Store } from '../cache/index.js';
import { MediaType, packLayer, type Compression, type Descriptor, type ImageConfig, type ImageManifest } from '../oci/index.js';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

export interface LayerSpec {
  dir: string;
  compression?: Compression;
}

/** Stores each directory as a layer, then config and manifest; tags the image `name`. */
export async function makeImage(store: Store, name: string, layers: LayerSpec[], cmd: string[] = ['/bin/sh']): Promise<string> {
  const descriptors: Descriptor[] = [];
  const diffIDs: string[] = [];
  for (const l of layers) {
    const packed = packLayer(l.dir, { compression: l.compression ?? 'gzip', sourceDateEpoch: 0 });
    await store.writeBlob(packed.stream);
    const r = await packed.result;
    descriptors.push({ mediaType: r.mediaType, digest: r.digest, size: r.size });
    diffIDs.push(r.diffID);
  }
  const config: ImageConfig = {
    created: '2024-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: cmd },
    rootfs: { type: 'layers', diff_ids: diffIDs },
  };
  const c = await store.writeBlobBuffer(JSON.stringify(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: c.digest, size: c.size },
    layers: descriptors,
  };
  const m = await store.writeBlobBuffer(JSON.stringify(manifest));
  await store.tagImage(name, m.digest);
  return m.digest;
}

/** The busybox rootfs from fixtures/make-busybox-rootfs.sh. */
export async function busyboxDir(parent: string): Promise<string> {
  const dir = join(parent, 'busybox');
  await run('bash', [join(here, '..', 'fixtures', 'make-busybox-rootfs.sh'), dir]);
  return dir;
}

/** A directory with one small text file. */
export async function textDir(parent: string, name: string, content: string): Promise<string> {
  const dir = join(parent, name);
  await mkdir(join(dir, 'etc'), { recursive: true });
  await writeFile(join(dir, 'etc', `${name}.txt`), content);
  return dir;
}

/** A directory holding one file of `size` random bytes, written in 1 MiB pieces. */
export async function randomDir(parent: string, name: string, size: number): Promise<string> {
  const dir = join(parent, name);
  await mkdir(dir, { recursive: true });
  const out = createWriteStream(join(dir, 'random.bin'));
  for (let left = size; left > 0; left -= 1 << 20) {
    if (!out.write(randomBytes(Math.min(left, 1 << 20)))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return dir;
}
