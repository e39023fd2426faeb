import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../cache/index.js';
import { kiln } from './registry-cli.js';
import { makeImage, randomDir, textDir } from './registry-image.js';
import { startRegistry, type RegistryServer } from './registry-server.js';

const run = promisify(execFile);

let reg: RegistryServer;
let tmp: string;
let root: string;
/** What `gzip -dc` / `zstd -dc` give for the image's layer blobs, in bytes. */
let uncompressed: number;

async function ok(args: string[]): Promise<string> {
  const r = await kiln(args);
  if (r.code !== 0) throw new Error(`kiln ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

interface Inspected {
  Size: number;
  RepoDigests: string[];
}

const inspect = async (r: string, image: string): Promise<Inspected> => (JSON.parse(await ok(['--root', r, 'inspect', image])) as Inspected[])[0]!;

test.before(async () => {
  reg = await startRegistry();
  tmp = await mkdtemp(join(tmpdir(), 'kiln-image-meta-'));
  root = join(tmp, 'root');
  const store = await openStore(root);
  try {
    await makeImage(store, 'local/meta:1', [
      { dir: await randomDir(tmp, 'noise', 300_000), compression: 'gzip' },
      { dir: await textDir(tmp, 'text', 'compressible line\n'.repeat(50_000)), compression: 'zstd' },
    ]);
    const img = await store.resolveImage('local/meta:1');
    uncompressed = 0;
    for (const l of img.layers) {
      const tool = l.mediaType.endsWith('zstd') ? 'zstd -dc' : 'gzip -dc';
      uncompressed += Number((await run('sh', ['-c', `${tool} < '${store.blobPath(l.digest)}' | wc -c`])).stdout.trim());
    }
  } finally {
    store.close();
  }
});

test.after.always(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('images SIZE and inspect Size are the layers uncompressed, as docker shows them', async (t) => {
  t.true(uncompressed > 1_000_000);
  t.is((await inspect(root, 'local/meta:1')).Size, uncompressed);
  const rows = (await ok(['--root', root, 'images'])).trim().split('\n');
  t.regex(rows[0]!, /SIZE$/);
  const row = rows.find((r) => r.startsWith('local/meta '));
  t.truthy(row);
  t.is(row!.trim().split(/\s+/).at(-1), `${Number((uncompressed / 1e6).toPrecision(3))}MB`);
});

test('inspect shows RepoDigests once an image is pushed, and after it is pulled elsewhere', async (t) => {
  t.deepEqual((await inspect(root, 'local/meta:1')).RepoDigests, []);
  const target = `${reg.host}/meta/app:1`;
  await ok(['--root', root, 'push', 'local/meta:1', target]);
  const { Digest } = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${target}`])).stdout) as { Digest: string };
  const expected = [`${reg.host}/meta/app@${Digest}`];
  t.deepEqual((await inspect(root, 'local/meta:1')).RepoDigests, expected);

  const fresh = join(tmp, 'fresh');
  await ok(['--root', fresh, 'pull', target]);
  const pulled = await inspect(fresh, target);
  t.deepEqual(pulled.RepoDigests, expected);
  t.is(pulled.Size, uncompressed);
});

test('an image whose layer blob is missing or not what its media type says still lists, with the blob size for it', async (t) => {
  const { fakeImage, withStore } = await import('../cache/test-support.js');
  await withStore(async (store) => {
    const img = await fakeImage(store, 'not-gzip');
    await store.registerImage(img.manifestDigest);
    const resolved = await store.resolveImage(img.manifestDigest);
    t.is(await store.imageSize(resolved), resolved.layers[0]!.size);
    await rm(store.blobPath(img.layerDigest));
    t.is(await store.imageSize(resolved), resolved.layers[0]!.size);
  });
});
