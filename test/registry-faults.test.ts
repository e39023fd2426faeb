import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore, type ResolvedImage } from '../cache/index.js';
import { pullImage, pushImage, RegistryClient, type PullOptions } from '../oci/index.js';
import { startFaultProxy, type FaultProxy, type FaultRule } from './registry-fault-proxy.js';
import { makeImage, randomDir, textDir } from './registry-image.js';
import { startRegistry, type RegistryServer } from './registry-server.js';
import { withStore } from '../cache/test-support.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const retry: PullOptions['retry'] = { attempts: 4, baseDelayMs: 20 };

let reg: RegistryServer;
let proxy: FaultProxy;
let tmp: string;
let srcRoot: string;
let manifestDigest: string;
let big: ResolvedImage['layers'][number];

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kiln-reg-faults-'));
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.host);
  srcRoot = join(tmp, 'src');
  const store = await openStore(srcRoot);
  try {
    manifestDigest = await makeImage(store, 'local/faults:1', [{ dir: await randomDir(tmp, 'big', 4 * MiB), compression: 'none' }, { dir: await textDir(tmp, 'small', 'small\n') }]);
    big = (await store.resolveImage('local/faults:1')).layers[0]!;
    // As stored: the big layer stays a plain 4 MiB blob.
    await pushImage(store, 'local/faults:1', `${reg.host}/faults/app:1`, { layers: { compression: 'none' } });
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

const viaProxy = (repo = 'faults/app:1') => `${proxy.host}/${repo}`;
const blobPath = (digest: string) => new RegExp(`/blobs/${digest}$`);

/** Pulls through the proxy with `rules` in force and checks the image arrived whole. */
async function pullsDespite(t: import('ava').ExecutionContext, rules: FaultRule[]): Promise<void> {
  proxy.inject(...rules);
  const seen = proxy.requests.length;
  await withStore(async (store) => {
    const pulled = await pullImage(store, viaProxy(), { retry });
    t.is(pulled.manifestDigest, manifestDigest);
    const img = await store.resolveImage(viaProxy());
    t.deepEqual(img.layers.map((l) => l.digest), [big.digest, img.layers[1]!.digest]);
  });
  const faulted = proxy.requests.slice(seen).filter((r) => r.fault !== undefined).length;
  t.is(faulted, rules.reduce((n, r) => n + (r.times ?? 1), 0), 'every injected fault was hit');
}

test.serial('pull retries 500s on the manifest and on blobs', async (t) => {
  await pullsDespite(t, [
    { method: 'GET', path: /\/manifests\//, fault: { kind: 'status', status: 500 }, times: 2 },
    { method: 'GET', path: blobPath(big.digest), fault: { kind: 'status', status: 503 }, times: 2 },
  ]);
});

for (const kind of ['reset', 'truncate'] as const) {
  test.serial(`a blob download cut part way (${kind}) resumes with a Range request`, async (t) => {
    await pullsDespite(t, [{ method: 'GET', path: blobPath(big.digest), fault: { kind, afterBytes: MiB } }]);
    const resumed = proxy.requests.filter((r) => r.url.endsWith(big.digest) && r.range !== undefined);
    t.true(resumed.length >= 1, 'the rest was asked for with Range');
    t.regex(resumed.at(-1)!.range!, /^bytes=\d+-$/);
  });
}

test.serial('a registry that stalls mid-blob and then continues still gives the image', async (t) => {
  await pullsDespite(t, [{ method: 'GET', path: blobPath(big.digest), fault: { kind: 'stall', afterBytes: 256 * 1024, ms: 1500 } }]);
});

test.serial('an altered blob is detected, nothing of it is committed, and a clean pull later succeeds', async (t) => {
  proxy.inject({ method: 'GET', path: blobPath(big.digest), fault: { kind: 'corrupt', at: 2 * MiB }, times: Infinity });
  await withStore(async (store, root) => {
    const err = await t.throwsAsync(pullImage(store, viaProxy(), { retry }));
    t.is((err as { code?: string }).code, 'E_REGISTRY_DIGEST_MISMATCH');
    t.regex(err!.message, new RegExp(`blob ${big.digest} in ${proxy.host}/faults/app: the registry sent content that does not match the digest \\(.*content has digest sha256:[0-9a-f]{64}`));
    t.regex((err as { hint?: string }).hint ?? '', /nothing of it was kept/);
    t.false(await store.hasBlob(big.digest), 'the bad blob is not in the store');
    await t.throwsAsync(store.resolveImage(viaProxy()), { message: /not found/ });
    t.deepEqual(await readdir(join(root, 'tmp')), [], 'no temp file left behind');

    const client = await RegistryClient.connect(proxy.host, { retry });
    try {
      const direct = await t.throwsAsync(
        (async () => {
          for await (const chunk of client.getBlob('faults/app', big.digest, big.size)) void chunk;
        })(),
      );
      t.is((direct as { code?: string }).code, 'E_REGISTRY_DIGEST_MISMATCH', 'the client verifies too, for callers other than the store');
    } finally {
      await client.close();
    }

    proxy.clear();
    const pulled = await pullImage(store, viaProxy(), { retry });
    t.is(pulled.manifestDigest, manifestDigest);
    t.true(await store.hasBlob(big.digest));
  });
});

test.serial('an altered manifest is refused', async (t) => {
  proxy.inject({ method: 'GET', path: /\/manifests\/1$/, fault: { kind: 'corrupt', at: 20 } });
  await withStore(async (store) => {
    const err = await t.throwsAsync(pullImage(store, viaProxy(), { retry }));
    t.is((err as { code?: string }).code, 'E_REGISTRY_DIGEST_MISMATCH');
    t.regex(err!.message, /Docker-Content-Digest says sha256:[0-9a-f]{64} but the content hashes to/);
    await t.throwsAsync(store.resolveImage(viaProxy()), { message: /not found/ });
  });
});

test.serial('a registry that keeps failing: the pull gives up with its error and tags nothing', async (t) => {
  proxy.inject({ method: 'GET', path: blobPath(big.digest), fault: { kind: 'status', status: 500 }, times: Infinity });
  const seen = proxy.requests.length;
  await withStore(async (store, root) => {
    const err = await t.throwsAsync(pullImage(store, viaProxy(), { retry }));
    t.is((err as { code?: string }).code, 'E_REGISTRY_SERVER');
    t.regex(err!.message, /failed \(500\).*registry said: .*injected fault: 500/);
    t.false(await store.hasBlob(big.digest));
    await t.throwsAsync(store.resolveImage(viaProxy()), { message: /not found/ });
    t.deepEqual(await readdir(join(root, 'tmp')), []);
  });
  const attempts = proxy.requests.slice(seen).filter((r) => r.url.endsWith(big.digest) && r.fault === 'status').length;
  t.is(attempts, retry!.attempts, 'tried as often as the retry policy allows, no more');
});

test.serial('push retries a 503 on starting an upload, a 500 on the upload, a connection reset mid-upload and a 502 on the manifest', async (t) => {
  const hex = big.digest.slice('sha256:'.length);
  proxy.inject(
    { method: 'POST', path: /\/blobs\/uploads\/$/, fault: { kind: 'status', status: 503 } },
    { method: 'PUT', path: new RegExp(`/blobs/uploads/.*${hex}`), fault: { kind: 'status', status: 500 } },
    { method: 'PUT', path: new RegExp(`/blobs/uploads/.*${hex}`), fault: { kind: 'reset-upload', afterBytes: MiB } },
    { method: 'PUT', path: /\/manifests\//, fault: { kind: 'status', status: 502 } },
  );
  const seen = proxy.requests.length;
  const store = await openStore(srcRoot);
  try {
    const pushed = await pushImage(store, 'local/faults:1', viaProxy('faults/pushed:1'), { retry, layers: { compression: 'none' } });
    t.is(pushed.manifestDigest, manifestDigest);
  } finally {
    store.close();
  }
  t.deepEqual(
    proxy.requests.slice(seen).flatMap((r) => (r.fault ? [r.fault] : [])),
    ['status', 'status', 'reset-upload', 'status'],
    'each fault was hit once',
  );
  const inspected = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/faults/pushed:1`])).stdout) as { Digest: string };
  t.is(inspected.Digest, manifestDigest);
  await withStore(async (fresh) => {
    t.is((await pullImage(fresh, `${reg.host}/faults/pushed:1`)).manifestDigest, manifestDigest);
  });
});

test.serial('a push whose uploads keep failing leaves no tag on the registry', async (t) => {
  const hex = big.digest.slice('sha256:'.length);
  proxy.inject({ method: 'PUT', path: new RegExp(`/blobs/uploads/.*${hex}`), fault: { kind: 'status', status: 500 }, times: Infinity });
  const store = await openStore(srcRoot);
  try {
    const err = await t.throwsAsync(pushImage(store, 'local/faults:1', viaProxy('faults/never:1'), { retry, layers: { compression: 'none' } }));
    t.is((err as { code?: string }).code, 'E_REGISTRY_SERVER');
  } finally {
    store.close();
  }
  const client = await RegistryClient.connect(reg.host);
  try {
    const missing = await t.throwsAsync(client.getManifest('faults/never', '1'));
    t.is((missing as { code?: string }).code, 'E_REGISTRY_NOT_FOUND');
  } finally {
    await client.close();
  }
});
