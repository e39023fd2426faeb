/** Helpers for tests of the store and what is built on it; not part of the public API. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType, sha256Digest, type ImageConfig, type ImageManifest } from '../oci/index.js';
import { openStore, type Store } from './index.js';

/** Runs `fn` on a store in a fresh temp root, closed and removed afterwards. */
export async function withStore(fn: (s: Store, root: string) => Promise<void>, prefix = 'kiln-store-'): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const s = await openStore(root);
  try {
    await fn(s, root);
  } finally {
    s.close();
    await rm(root, { recursive: true, force: true });
  }
}

export interface FakeImage {
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
  diffID: string;
}

/** A one-layer image made of arbitrary bytes; enough for index operations that never extract. */
export async function fakeImage(s: Store, seed: string): Promise<FakeImage> {
  const layer = await s.writeBlobBuffer(`layer-${seed}`);
  const diffID = sha256Digest(`diff-${seed}`);
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', created: '2024-01-01T00:00:00Z', rootfs: { type: 'layers', diff_ids: [diffID] } };
  const c = await s.writeJson(config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: c.digest, size: c.size },
    layers: [{ mediaType: MediaType.ociLayerGzip, digest: layer.digest, size: layer.size }],
  };
  const m = await s.writeJson(manifest);
  return { manifestDigest: m.digest, configDigest: c.digest, layerDigest: layer.digest, diffID };
}
