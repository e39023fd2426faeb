/** Test helper: builds small multi-layer images straight into a store from directories. */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../cache/index.js';
import { MediaType, packLayer, type Compression, type Descriptor, type ImageConfig, type ImageManifest } from '../oci/index.js';

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

/**
 * A minimal busybox root filesystem: the static binary with a few applet links, /etc/passwd and
 * /etc/group as fixtures/make-busybox-rootfs.sh writes them (without its ~400 links, which are slow to make).
 */
export async function busyboxDir(parent: string): Promise<string> {
  const dir = join(parent, 'busybox');
  for (const d of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev']) await mkdir(join(dir, d), { recursive: true });
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile('/bin/busybox', join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of ['sh', 'cat', 'head', 'ls', 'echo']) await symlink('/bin/busybox', join(dir, 'bin', applet));
  await writeFile(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
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
