import test from 'ava';
import { execFile } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../cache/index.js';
import { BLOB_CHANNEL, pullImage, pushImage, RegistryClient, RegistryError, type BlobProgressEvent } from '../oci/index.js';
import { kiln } from './registry-cli.js';
import { makeImage, randomDir, textDir } from './registry-image.js';
import { startRegistry, type RegistryServer } from './registry-server.js';

const run = promisify(execFile);

let reg: RegistryServer;
let tmp: string;

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kiln-reg-crash-'));
  reg = await startRegistry();
});

test.after.always(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('registry killed in the middle of a push: the tag is not written, and pushing again completes', async (t) => {
  const root = join(tmp, 'root');
  const store = await openStore(root);
  let digest: string;
  const big = 64 * 1024 * 1024;
  try {
    digest = await makeImage(store, 'local/crash:1', [{ dir: await randomDir(tmp, 'big', big), compression: 'none' }, { dir: await textDir(tmp, 'small', 'small\n') }]);
    let killed: Promise<void> | undefined;
    const onBlob = (message: unknown) => {
      const e = message as BlobProgressEvent;
      if (!killed && e.direction === 'push' && e.state === 'progress' && e.transferred > 16 * 1024 * 1024) killed = reg.kill();
    };
    subscribe(BLOB_CHANNEL, onBlob);
    try {
      const err = await t.throwsAsync(pushImage(store, 'local/crash:1', `${reg.host}/crash/app:1`, { retry: { attempts: 2, baseDelayMs: 50 }, layers: { compression: 'none' } }), {
        instanceOf: RegistryError,
      });
      t.is(err?.code, 'E_REGISTRY_UNREACHABLE');
    } finally {
      unsubscribe(BLOB_CHANNEL, onBlob);
    }
    t.truthy(killed, 'the registry was killed during the upload');
    await killed;
  } finally {
    store.close();
  }

  await reg.restart();
  const client = await RegistryClient.connect(reg.host);
  try {
    const missing = await t.throwsAsync(client.getManifest('crash/app', '1'), { instanceOf: RegistryError });
    t.is(missing?.code, 'E_REGISTRY_NOT_FOUND', 'the tag must not point at a partial image');
  } finally {
    await client.close();
  }

  // As stored: random bytes gain nothing from gzip, and the big layer's size is checked below.
  const again = await kiln(['--root', root, 'push', '--compression-format', 'uncompressed', '--no-force-compression', 'local/crash:1', `${reg.host}/crash/app:1`]);
  t.is(again.code, 0, again.stderr);
  const inspected = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/crash/app:1`])).stdout) as { Digest: string };
  t.is(inspected.Digest, digest);

  const fresh = await openStore(join(tmp, 'fresh'));
  try {
    const pulled = await pullImage(fresh, `${reg.host}/crash/app:1`);
    t.is(pulled.manifestDigest, digest);
    const img = await fresh.resolveImage(`${reg.host}/crash/app:1`);
    t.deepEqual(img.layers.map((l) => l.size).slice(0, 1), [big + 1536], 'the big layer (one file plus tar headers) came back whole');
  } finally {
    fresh.close();
  }
});
