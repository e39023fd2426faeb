import test from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../cache/index.js';
import { MediaType, pullImage, pushImage, RegistryClient, RegistryError, type ImageIndex } from '../oci/index.js';
import { kiln } from './registry-cli.js';
import { busyboxDir, makeImage, randomDir, textDir } from './registry-image.js';
import { freePort, startRegistry, type RegistryServer } from './registry-server.js';

const run = promisify(execFile);

let reg: RegistryServer;
let tmp: string;
let srcRoot: string;
let manifestDigest: string;

test.before(async () => {
  reg = await startRegistry();
  tmp = await mkdtemp(join(tmpdir(), 'kiln-reg-test-'));
  srcRoot = join(tmp, 'src-root');
  const store = await openStore(srcRoot);
  try {
    manifestDigest = await makeImage(store, 'local/app:1', [
      { dir: await busyboxDir(tmp) },
      { dir: await textDir(tmp, 'hello', 'hello from layer two\n') },
      { dir: await textDir(tmp, 'third', 'and a third layer\n'), compression: 'zstd' },
    ]);
  } finally {
    store.close();
  }
});

test.after.always(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test.serial('kiln push, skopeo agrees on the digest, kiln pull into a fresh root gives the identical image', async (t) => {
  const target = `${reg.host}/kiln/app:1`;
  const pushed = await kiln(['--root', srcRoot, 'push', 'local/app:1', target]);
  t.is(pushed.code, 0, pushed.stderr);
  t.true(pushed.stdout.includes(`digest: ${manifestDigest}`), pushed.stdout);

  const inspected = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${target}`])).stdout) as { Digest: string; Layers: string[] };
  t.is(inspected.Digest, manifestDigest);
  t.is(inspected.Layers.length, 3);

  const freshRoot = join(tmp, 'fresh-root');
  const pulled = await kiln(['--root', freshRoot, 'pull', target]);
  t.is(pulled.code, 0, pulled.stderr);
  t.true(pulled.stdout.includes(`Digest: ${manifestDigest}`));

  const a = await openStore(srcRoot);
  const b = await openStore(freshRoot);
  try {
    const before = await a.resolveImage('local/app:1');
    const after = await b.resolveImage(target);
    t.is(after.manifestDigest, before.manifestDigest);
    t.is(after.configDigest, before.configDigest);
    t.deepEqual(after.layers, before.layers);
    for (const l of after.layers) {
      const bytes = await b.readBlob(l.digest);
      t.is(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, l.digest);
    }
  } finally {
    a.close();
    b.close();
  }

  const store = await openStore(freshRoot);
  try {
    const again = await pullImage(store, target);
    t.is(again.downloaded, 0, 'a second pull finds every blob in the store');
  } finally {
    store.close();
  }
});

test.serial('the pulled multi-layer image runs with kiln run (runc)', async (t) => {
  const ran = await kiln(['--root', join(tmp, 'fresh-root'), 'run', '--rm', `${reg.host}/kiln/app:1`, 'sh', '-c', 'cat /etc/hello.txt /etc/third.txt; busybox | head -1']);
  t.is(ran.code, 0, ran.stderr);
  t.regex(ran.stdout, /^hello from layer two\nand a third layer\nBusyBox v/);
});

test.serial('pushing to a second repository mounts the blobs instead of uploading them', async (t) => {
  const store = await openStore(srcRoot);
  try {
    await pushImage(store, 'local/app:1', `${reg.host}/kiln/app:1`);
    await store.tagImage(`${reg.host}/kiln/app:1`, manifestDigest);
    const r = await pushImage(store, 'local/app:1', `${reg.host}/kiln/copy:1`);
    t.deepEqual(r.blobs, { exists: 0, mounted: 4, uploaded: 0 });
    const again = await pushImage(store, 'local/app:1', `${reg.host}/kiln/copy:1`);
    t.deepEqual(again.blobs, { exists: 4, mounted: 0, uploaded: 0 });
  } finally {
    store.close();
  }
  const inspected = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/kiln/copy:1`])).stdout) as { Digest: string };
  t.is(inspected.Digest, manifestDigest);
});

test.serial('big blobs go up in chunks (PATCH) and come back intact', async (t) => {
  const store = await openStore(join(tmp, 'chunk-root'));
  try {
    await makeImage(store, 'local/big:1', [{ dir: await randomDir(tmp, 'big', 5 * 1024 * 1024), compression: 'none' }]);
    const r = await pushImage(store, 'local/big:1', `${reg.host}/kiln/big:1`, { chunkThreshold: 1024 * 1024, chunkSize: 1024 * 1024 + 7 });
    t.is(r.blobs.uploaded, 2);
    const fresh = await openStore(join(tmp, 'chunk-fresh'));
    try {
      const p = await pullImage(fresh, `${reg.host}/kiln/big:1`);
      t.is(p.manifestDigest, r.manifestDigest);
      t.is(p.downloaded, 2);
    } finally {
      fresh.close();
    }
  } finally {
    store.close();
  }
});

test.serial('an index is resolved to the requested platform', async (t) => {
  const store = await openStore(join(tmp, 'platform-root'));
  const client = await RegistryClient.connect(reg.host);
  try {
    const src = await openStore(srcRoot);
    const amd64 = await pushImage(src, 'local/app:1', `${reg.host}/kiln/multi:amd64`);
    const armDigest = await makeImage(src, 'local/app:arm', [{ dir: await textDir(tmp, 'arm', 'arm64 layer\n') }]);
    const arm64 = await pushImage(src, 'local/app:arm', `${reg.host}/kiln/multi:arm64`);
    src.close();
    t.is(arm64.manifestDigest, armDigest);
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { mediaType: MediaType.ociManifest, digest: amd64.manifestDigest, size: amd64.manifestSize, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MediaType.ociManifest, digest: arm64.manifestDigest, size: arm64.manifestSize, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    };
    const bytes = Buffer.from(JSON.stringify(index));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await client.putManifest('kiln/multi', 'latest', { bytes, mediaType: MediaType.ociIndex, digest });

    const byDefault = await pullImage(store, `${reg.host}/kiln/multi`);
    t.is(byDefault.manifestDigest, amd64.manifestDigest);
    t.is(byDefault.indexDigest, digest);
    const arm = await pullImage(store, `${reg.host}/kiln/multi:latest`, { platform: 'linux/arm64' });
    t.is(arm.manifestDigest, arm64.manifestDigest);
    const err = await t.throwsAsync(pullImage(store, `${reg.host}/kiln/multi`, { platform: 'linux/s390x' }), { instanceOf: RegistryError });
    t.is(err?.code, 'E_REGISTRY_PLATFORM');
    t.regex(err?.hint ?? '', /linux\/amd64, linux\/arm64\/v8/);
  } finally {
    await client.close();
    store.close();
  }
});

test.serial('errors name what was missing and never show a stack trace', async (t) => {
  const root = join(tmp, 'err-root');
  const missing = await kiln(['--root', root, 'pull', `${reg.host}/kiln/app:nope`]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /not found: manifest 127\.0\.0\.1:\d+\/kiln\/app:nope \(registry said: MANIFEST_UNKNOWN/);
  t.notRegex(missing.stderr, /\n\s+at /);

  const store = await openStore(root);
  try {
    const noRepo = await t.throwsAsync(pullImage(store, `${reg.host}/kiln/none:1`), { instanceOf: RegistryError });
    t.is(noRepo?.code, 'E_REGISTRY_NOT_FOUND');
    t.regex(noRepo?.message ?? '', /not found: manifest .*kiln\/none:1 \(registry said: (NAME|MANIFEST)_UNKNOWN/);
    const port = await freePort();
    const down = await t.throwsAsync(pullImage(store, `127.0.0.1:${port}/x/y:1`, { retry: { attempts: 2, baseDelayMs: 10 } }), { instanceOf: RegistryError });
    t.is(down?.code, 'E_REGISTRY_UNREACHABLE');
    t.regex(down?.message ?? '', /registry 127\.0\.0\.1:\d+ is unreachable/);
    t.regex(down?.hint ?? '', /check that the registry is running/);
  } finally {
    store.close();
  }
});
