import test from 'ava';
import { execFile } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../../cache/index.js';
import { startFaultProxy, type FaultProxy } from '../../test/registry-fault-proxy.js';
import { makeImage, randomDir, textDir } from '../../test/registry-image.js';
import { startRegistry, type RegistryServer } from '../../test/registry-server.js';
import { BLOB_CHANNEL, pullImage, pushImage, type BlobProgressEvent, type PullOptions } from './index.js';
import { withStore } from '../../cache/test-support.js';

// Every blob of these pulls goes through the worker threads (`workerThreshold: 0`).
const run = promisify(execFile);
const MiB = 1024 * 1024;
const credentials = { username: 'kiln', password: 's3cret', source: 'test' };
const options: PullOptions = { workerThreshold: 0, credentials, retry: { attempts: 4, baseDelayMs: 20 } };

let reg: RegistryServer;
let proxy: FaultProxy;
let tmp: string;
let manifestDigest: string;
let bigDigest: string;

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kiln-blob-pool-'));
  const htpasswd = join(tmp, 'htpasswd');
  await writeFile(htpasswd, (await run('htpasswd', ['-Bbn', 'kiln', 's3cret'])).stdout);
  reg = await startRegistry({ htpasswd });
  proxy = await startFaultProxy(reg.host);
  const store = await openStore(join(tmp, 'src'));
  try {
    manifestDigest = await makeImage(store, 'local/pool:1', [{ dir: await randomDir(tmp, 'big', 4 * MiB), compression: 'none' }, { dir: await textDir(tmp, 'small', 'small\n') }]);
    bigDigest = (await store.resolveImage('local/pool:1')).layers[0]!.digest;
    // As stored: the big layer stays a plain 4 MiB blob for the workers to fetch.
    await pushImage(store, 'local/pool:1', `${reg.host}/pool/app:1`, { credentials, layers: { compression: 'none' } });
  } finally {
    store.close();
  }
});

test.after.always(async () => {
  await proxy?.stop();
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test.afterEach.always(() => proxy.clear());

test.serial('a pull through worker threads with basic auth stores every blob and reports progress on the main thread', async (t) => {
  const events: BlobProgressEvent[] = [];
  const onBlob = (m: unknown) => events.push(m as BlobProgressEvent);
  subscribe(BLOB_CHANNEL, onBlob);
  try {
    await withStore(async (store) => {
      const pulled = await pullImage(store, `${reg.host}/pool/app:1`, options);
      t.is(pulled.manifestDigest, manifestDigest);
      t.is(pulled.downloaded, 3);
      const img = await store.resolveImage(`${reg.host}/pool/app:1`);
      for (const d of [img.configDigest, ...img.layers.map((l) => l.digest)]) t.true(await store.hasBlob(d));
    });
  } finally {
    unsubscribe(BLOB_CHANNEL, onBlob);
  }
  const big = events.filter((e) => e.digest === bigDigest).map((e) => e.state);
  t.is(big[0], 'start');
  t.is(big.at(-1), 'done');
  t.true(big.includes('progress'));
});

for (const kind of ['reset', 'truncate'] as const) {
  test.serial(`a worker download cut part way (${kind}) resumes with a Range request`, async (t) => {
    proxy.inject({ method: 'GET', path: new RegExp(`/blobs/${bigDigest}$`), fault: { kind, afterBytes: MiB } });
    await withStore(async (store) => {
      const pulled = await pullImage(store, `${proxy.host}/pool/app:1`, options);
      t.is(pulled.manifestDigest, manifestDigest);
      t.true(await store.hasBlob(bigDigest));
    });
    const resumed = proxy.requests.filter((r) => r.url.endsWith(bigDigest) && r.range !== undefined);
    t.true(resumed.length >= 1, 'the rest was asked for with Range');
  });
}

test.serial('an altered blob from a worker is refused with its digests, and nothing of it is kept', async (t) => {
  proxy.inject({ method: 'GET', path: new RegExp(`/blobs/${bigDigest}$`), fault: { kind: 'corrupt', at: 2 * MiB }, times: Infinity });
  await withStore(async (store, root) => {
    const err = await t.throwsAsync(pullImage(store, `${proxy.host}/pool/app:1`, options));
    t.is((err as { code?: string }).code, 'E_REGISTRY_DIGEST_MISMATCH');
    t.regex(err!.message, new RegExp(`blob ${bigDigest} .*content has digest sha256:[0-9a-f]{64}`));
    t.regex((err as { hint?: string }).hint ?? '', /nothing of it was kept/);
    t.false(await store.hasBlob(bigDigest));
    await t.throwsAsync(store.resolveImage(`${proxy.host}/pool/app:1`), { message: /not found/ });
    t.deepEqual(await readdir(join(root, 'tmp')), [], 'no temp file left behind');
  });
});
