import test from 'ava';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../cache/index.js';
import { pipeline } from 'node:stream/promises';
import { createCompressor, importRootfs, saveImages, type ArchiveFormat } from '../oci/index.js';
import { describeTree, kiln, kilnOk, makeBusybox, run, sha256File } from './image-fixture.js';

// The CLI takes seconds to start under tsx, so the CLI is run where the CLI is what is tested and
// the library is used for the rest. One busybox image, made by the fixture script, is shared.
let dir: string;
let root: string;
let tree: string;
let id: string;
let manifestDigest: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-image-'));
  root = join(dir, 'root');
  tree = join(dir, 'tree');
  await makeBusybox(root, tree);
  await withStore(root, async (s) => {
    const img = await s.resolveImage('busybox');
    id = img.configDigest;
    manifestDigest = img.manifestDigest;
  });
});

test.after.always(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function withStore<T>(r: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore(r);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

async function saveLib(r: string, name: string, format: ArchiveFormat, file: string): Promise<void> {
  await withStore(r, async (s) => saveImages(s, [await s.resolveImage(name)], format, createWriteStream(file)));
}

test('the busybox fixture has the docker import defaults; images, history and inspect show it', async (t) => {
  const [info] = JSON.parse(await kilnOk(root, ['inspect', 'busybox:latest'])) as Record<string, any>[];
  t.is(info!.Id, id);
  t.deepEqual(info!.RepoTags, ['busybox:latest']);
  t.deepEqual(info!.Config.Cmd, ['sh']);
  t.deepEqual(info!.Config.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  t.is(info!.Created, '1970-01-01T00:00:00Z');
  t.is(info!.Architecture, 'amd64');
  t.is(info!.RootFS.Layers.length, 1);
  const images = await kilnOk(root, ['images']);
  t.regex(images, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
  t.regex(images, new RegExp(`\\nbusybox\\s+latest\\s+${id.slice(7, 19)}\\s+\\d+ years ago\\s+\\d+(\\.\\d+)?[kM]B\\n`));
  t.regex(await kilnOk(root, ['history', 'busybox']), new RegExp(`\\n${id.slice(7, 19)}\\s+\\d+ years ago\\s+kiln import\\s+\\S+\\s+Imported from rootfs.tar\\n`));
  // --format and --filter, as CI scripts call docker's.
  t.is(await kilnOk(root, ['inspect', '--format', '{{.Id}} {{json .Config.Cmd}}', 'busybox']), `${id} ["sh"]\n`);
  t.is(await kilnOk(root, ['images', '--filter', 'reference=busy*', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']), `busybox:latest ${id.slice(7, 19)}\n`);
  t.is(await kilnOk(root, ['images', '-f', 'dangling=true', '-q']), '');
});

test('an OCI archive passes skopeo inspect and umoci unpack reproduces the tree, modes and owners', async (t) => {
  const file = join(dir, 'oci.tar');
  await kilnOk(root, ['save', 'busybox', '--format', 'oci', '-o', file]);
  const info = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${file}`])).stdout) as { Digest: string; Architecture: string };
  t.is(info.Digest, manifestDigest);
  t.is(info.Architecture, 'amd64');
  const layout = join(dir, 'layout');
  const bundle = join(dir, 'bundle');
  await mkdir(layout);
  await run('tar', ['-xf', file, '-C', layout]);
  await run('umoci', ['unpack', '--image', `${layout}:latest`, bundle]);
  const want = await describeTree(tree);
  const got = await describeTree(join(bundle, 'rootfs'));
  t.true(want.size > 200, 'the tree has busybox and its applets');
  t.deepEqual(got, want);
});

test('a docker-archive passes skopeo inspect and names the image', async (t) => {
  const file = join(dir, 'docker.tar');
  await kilnOk(root, ['save', 'busybox', '-o', file]);
  const info = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${file}`])).stdout) as { Layers: string[] };
  const diffIDs = await withStore(root, async (s) => (await s.resolveImage('busybox')).config.rootfs.diff_ids);
  // docker-archive layers are plain tars, so skopeo reports them by diffID.
  t.deepEqual(info.Layers, diffIDs);
  const listing = (await run('tar', ['-tf', file])).stdout.split('\n');
  t.true(listing.includes('manifest.json') && listing.includes('repositories') && listing.includes(`${id.slice(7)}.json`));
});

test('round trip: save both formats, load into fresh roots, save again gives identical archives', async (t) => {
  const orig: Record<string, string> = {};
  for (const f of ['oci', 'docker'] as const) {
    const a = join(dir, `orig.${f}.tar`);
    const b = join(dir, `orig-again.${f}.tar`);
    await saveLib(root, 'busybox', f, a);
    await saveLib(root, 'busybox', f, b);
    orig[f] = await sha256File(a);
    t.is(await sha256File(b), orig[f], `${f}: saving twice is byte-identical`);
  }
  for (const from of ['oci', 'docker'] as const) {
    const fresh = join(dir, `fresh-${from}`);
    t.is(await kilnOk(fresh, ['load', '-i', join(dir, `orig.${from}.tar`)]), 'Loaded image: busybox:latest\n');
    await withStore(fresh, async (s) => {
      const img = await s.resolveImage('busybox');
      t.is(img.configDigest, id, from);
      t.is(img.manifestDigest, manifestDigest, from);
    });
    for (const to of ['oci', 'docker'] as const) {
      const again = join(dir, `again.${from}.${to}.tar`);
      await saveLib(fresh, 'busybox', to, again);
      t.is(await sha256File(again), orig[to], `loaded from ${from}, saved as ${to}`);
    }
  }
});

test('load accepts a docker-archive written by skopeo and tags what it names', async (t) => {
  const oci = join(dir, 'for-skopeo.tar');
  const foreign = join(dir, 'skopeo-docker.tar');
  await saveLib(root, 'busybox', 'oci', oci);
  await run('skopeo', ['copy', '-q', `oci-archive:${oci}`, `docker-archive:${foreign}:example.com/team/bb:v1`]);
  const fresh = join(dir, 'fresh-skopeo');
  t.is(await kilnOk(fresh, ['load', '-i', foreign]), 'Loaded image: example.com/team/bb:v1\n');
  await withStore(fresh, async (s) => {
    const img = await s.resolveImage('example.com/team/bb:v1');
    t.is(img.configDigest, id);
    const dirPath = await s.layerDir(img.layers[0]!);
    t.true(existsSync(join(dirPath, 'bin', 'busybox')));
    t.is(await s.layerDir(img.layers[0]!), dirPath, 'extracted once, then reused');
  });
});

test('load takes archives compressed as `docker save | gzip` makes them, gzip or zstd, as docker load does', async (t) => {
  const plain = join(dir, 'to-compress.tar');
  await saveLib(root, 'busybox', 'docker', plain);
  for (const compression of ['gzip', 'zstd'] as const) {
    const file = `${plain}.${compression}`;
    await pipeline(createReadStream(plain), createCompressor(compression), createWriteStream(file));
    const fresh = join(dir, `fresh-${compression}`);
    t.is(await kilnOk(fresh, ['load', '-i', file]), 'Loaded image: busybox:latest\n', compression);
    await withStore(fresh, async (s) => t.is((await s.resolveImage('busybox')).configDigest, id, compression));
  }
});

test('the same import with SOURCE_DATE_EPOCH gives the same image id', async (t) => {
  const tar = join(dir, 'tree.tar');
  await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', tree, '-cf', tar, '.']);
  const changes = ['CMD ["sh"]', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
  const importAt = (r: string, epoch: number) =>
    withStore(join(dir, r), async (s) => (await importRootfs(s, createReadStream(tar), { changes, source: 'rootfs.tar', created: new Date(epoch * 1000) })).configDigest);
  const a = await importAt('imp-a', 0);
  const b = await importAt('imp-b', 0);
  const c = await importAt('imp-c', 1);
  t.is(a, id, 'same as the fixture script, which imports through the CLI with SOURCE_DATE_EPOCH=0');
  t.is(b, a);
  t.not(c, a);
});

test('rmi untags, then deletes the image and its blobs; unknown images are a clear error', async (t) => {
  const r = join(dir, 'rmi-root');
  const file = join(dir, 'rmi.oci.tar');
  await saveLib(root, 'busybox', 'oci', file);
  await kilnOk(r, ['load', '-i', file]);
  await withStore(r, async (s) => void (await s.tagImage('other:1', manifestDigest)));
  t.is(await kilnOk(r, ['rmi', 'busybox']), 'Untagged: busybox:latest\n');
  t.is((await readdir(join(r, 'blobs', 'sha256'))).length, 3, 'still named other:1');
  t.is(await kilnOk(r, ['rmi', 'other:1']), `Untagged: other:1\nDeleted: ${id}\n`);
  t.deepEqual(await readdir(join(r, 'blobs', 'sha256')), []);
  const missing = await kiln(r, ['inspect', 'busybox']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^kiln: image "busybox" not found in the local store\nhint: /);
  t.notRegex(missing.stderr, /\n\s+at /, 'no stack trace');
  const gone = await kiln(r, ['rmi', 'busybox']);
  t.is(gone.code, 1);
  t.regex(gone.stderr, /^kiln: image "busybox" not found in the local store\n/);
  // As `docker rmi -f`: a cleanup step removing what may not be there succeeds.
  t.deepEqual(await kiln(r, ['rmi', '-f', 'busybox', 'nosuch:2']), { code: 0, stdout: '', stderr: '' });
});
