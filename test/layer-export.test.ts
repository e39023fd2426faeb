/**
 * Built layers are stored as plain tars and compressed on the way out: `--output
 * type=oci|image,compression=...`, `kiln save`, and a push to a real registry, read back by skopeo,
 * umoci and a pull into a fresh root, with real runc building the image. Serial: one test counts
 * the blobs of the root the others export from.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../cache/index.js';
import { MediaType, type ImageManifest } from '../oci/index.js';
import { freshRoot, kiln } from './build-helpers.js';
import { describeTree } from './image-fixture.js';
import { startRegistry, type RegistryServer } from './registry-server.js';

const run = promisify(execFile);
const DOCKERFILE = 'FROM busybox\nRUN mkdir /data && echo hello > /data/f && chmod 640 /data/f && chown 7:9 /data/f\n';
/** /data/f as describeTree sees it. */
const BUILT_FILE = `file ${createHash('sha256').update('hello\n').digest('hex')} mode=640 owner=7:9`;
let dir: string;
let root: string;
let reg: RegistryServer;
const cleanups: (() => Promise<void>)[] = [];

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-layer-export-'));
  const fresh = await freshRoot();
  cleanups.push(fresh.cleanup);
  root = fresh.root;
  const built = await kiln(root, ['build', '--progress', 'plain', '-t', 'exported:1', '-'], DOCKERFILE);
  if (built.code !== 0) throw new Error(built.stderr);
  reg = await startRegistry();
});

test.after.always(async () => {
  for (const c of cleanups) await c();
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function localImage(r: string, name: string) {
  const s = await openStore(r);
  try {
    return await s.resolveImage(name);
  } finally {
    s.close();
  }
}

/**
 * The manifest of the one image in an OCI archive, and the archive unpacked by umoci. umoci 0.4
 * reads no zstd, so skopeo first copies such an archive into a layout with its layers gzipped
 * (reading the zstd and checking every digest on the way).
 */
async function ociArchive(file: string, name: string): Promise<{ manifest: ImageManifest; rootfs: string }> {
  const manifest = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci-archive:${file}`])).stdout) as ImageManifest;
  const layout = join(dir, `${name}-layout`);
  const bundle = join(dir, `${name}-bundle`);
  await mkdir(layout);
  await run('tar', ['-xf', file, '-C', layout]);
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
  const tag = index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'] ?? 'latest';
  let image = `${layout}:${tag}`;
  if (manifest.layers.some((l) => l.mediaType === MediaType.ociLayerZstd)) {
    image = `${layout}-plain:${tag}`;
    await run('skopeo', ['copy', '-q', '--dest-compress', '--dest-compress-format', 'gzip', `oci-archive:${file}`, `oci:${image}`]);
  }
  await run('umoci', ['unpack', '--image', image, bundle]);
  return { manifest, rootfs: join(bundle, 'rootfs') };
}

async function builtFile(rootfs: string): Promise<string | undefined> {
  return (await describeTree(rootfs)).get('data/f');
}

test.serial('a build stores its layer as a plain tar under its diffID; the base image keeps its gzip blob', async (t) => {
  const img = await localImage(root, 'exported:1');
  const base = await localImage(root, 'busybox');
  t.is(img.layers.length, 2);
  t.deepEqual(img.layers[0], base.layers[0]);
  t.is(img.layers[1]!.mediaType, MediaType.ociLayer);
  t.is(img.layers[1]!.digest, img.layers[1]!.diffID);
});

test.serial('--output type=oci gzips the plain layer by default, as BuildKit does, and umoci unpacks it', async (t) => {
  const file = join(dir, 'default.tar');
  const r = await kiln(root, ['build', '--progress', 'plain', '-t', 'archived:1', '--output', `type=oci,dest=${file}`, '-'], DOCKERFILE);
  t.is(r.code, 0, r.stderr);
  const { manifest, rootfs } = await ociArchive(file, 'default');
  t.deepEqual(manifest.layers.map((l) => l.mediaType), [MediaType.ociLayerGzip, MediaType.ociLayerGzip]);
  t.is(await builtFile(rootfs), BUILT_FILE);
});

test.serial('compression=zstd compresses the built layer only; force-compression=true the base layer too', async (t) => {
  const only = join(dir, 'zstd.tar');
  const r = await kiln(root, ['build', '--progress', 'plain', '-t', 'archived:1', '--output', `type=oci,dest=${only},compression=zstd`, '-'], DOCKERFILE);
  t.is(r.code, 0, r.stderr);
  const a = await ociArchive(only, 'zstd');
  t.deepEqual(a.manifest.layers.map((l) => l.mediaType), [MediaType.ociLayerGzip, MediaType.ociLayerZstd]);
  t.is(await builtFile(a.rootfs), BUILT_FILE);

  const all = join(dir, 'zstd-forced.tar');
  const f = await kiln(root, ['build', '--progress', 'plain', '-t', 'archived:1', '--output', `type=oci,dest=${all},compression=zstd,compression-level=19,force-compression=true`, '-'], DOCKERFILE);
  t.is(f.code, 0, f.stderr);
  const b = await ociArchive(all, 'forced');
  t.deepEqual(b.manifest.layers.map((l) => l.mediaType), [MediaType.ociLayerZstd, MediaType.ociLayerZstd]);
  t.deepEqual(await describeTree(b.rootfs), await describeTree(a.rootfs));
});

test.serial('--metadata-file after --output type=oci names the manifest the archive holds, whose layers were compressed for it', async (t) => {
  for (const [name, options] of [['meta-default', ''], ['meta-zstd', ',compression=zstd']] as const) {
    const file = join(dir, `${name}.tar`);
    const meta = join(dir, `${name}.json`);
    // A cached rebuild: its layer is the stored plain tar, compressed as the archive is written.
    const r = await kiln(root, ['build', '--progress', 'plain', '--metadata-file', meta, '--output', `type=oci,dest=${file}${options}`, '-'], DOCKERFILE);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stderr, /1 cached/);
    const index = JSON.parse((await run('tar', ['-xOf', file, 'index.json'])).stdout) as { manifests: { digest: string }[] };
    const m = JSON.parse(await readFile(meta, 'utf8')) as { 'containerimage.digest': string };
    t.is(m['containerimage.digest'], index.manifests[0]!.digest, name);
    t.not(m['containerimage.digest'], (await localImage(root, 'exported:1')).manifestDigest, name);
  }
});

test.serial('kiln save: OCI archives get gzip layers, docker-archives plain layer tars named by diffID', async (t) => {
  const oci = join(dir, 'saved-oci.tar');
  const docker = join(dir, 'saved-docker.tar');
  t.is((await kiln(root, ['save', '--format', 'oci', '-o', oci, 'exported:1'])).code, 0);
  t.is((await kiln(root, ['save', '-o', docker, 'exported:1'])).code, 0);
  const { manifest } = await ociArchive(oci, 'saved');
  t.deepEqual(manifest.layers.map((l) => l.mediaType), [MediaType.ociLayerGzip, MediaType.ociLayerGzip]);
  const img = await localImage(root, 'exported:1');
  const info = JSON.parse((await run('skopeo', ['inspect', `docker-archive:${docker}`])).stdout) as { Layers: string[] };
  t.deepEqual(info.Layers, img.layers.map((l) => l.diffID));
});

test.serial('a push gzips the plain layer (zstd when asked), skopeo reads it, and a fresh root pulls and runs it', async (t) => {
  const target = `${reg.host}/kiln/exported:1`;
  const pushed = await kiln(root, ['push', 'exported:1', target]);
  t.is(pushed.code, 0, pushed.stderr);
  const raw = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${target}`])).stdout) as ImageManifest;
  t.deepEqual(raw.layers.map((l) => l.mediaType), [MediaType.ociLayerGzip, MediaType.ociLayerGzip]);
  const blobs = await readdir(join(root, 'blobs', 'sha256'));
  const again = await kiln(root, ['push', 'exported:1', target]);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /: 0 blob\(s\) uploaded, 0 mounted, 3 already present\n/);
  t.deepEqual(await readdir(join(root, 'blobs', 'sha256')), blobs, 'the kept gzip copy was pushed again, nothing compressed anew');
  const rawAgain = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${target}`])).stdout) as ImageManifest;
  t.deepEqual(rawAgain, raw, 'the same bytes each time');

  const zstdTarget = `${reg.host}/kiln/exported:zstd`;
  const z = await kiln(root, ['build', '--progress', 'plain', '--output', `type=image,name=${zstdTarget},push=true,compression=zstd`, '-'], DOCKERFILE);
  t.is(z.code, 0, z.stderr);
  const zraw = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${zstdTarget}`])).stdout) as ImageManifest;
  t.is(zraw.layers[1]!.mediaType, MediaType.ociLayerZstd);

  const other = await freshRoot();
  cleanups.push(other.cleanup);
  for (const ref of [target, zstdTarget]) {
    t.is((await kiln(other.root, ['pull', ref])).code, 0);
    const ran = await kiln(other.root, ['run', '--rm', ref, 'stat', '-c', '%a %u:%g %s', '/data/f']);
    t.is(ran.code, 0, ran.stderr);
    t.is(ran.stdout.trim(), '640 7:9 6');
  }
});

test.serial('kiln push --compression-format zstd recompresses every layer, as podman does, unless --no-force-compression', async (t) => {
  const all = `${reg.host}/kiln/exported:all-zstd`;
  const pushed = await kiln(root, ['push', '--compression-format', 'zstd', 'exported:1', all]);
  t.is(pushed.code, 0, pushed.stderr);
  const raw = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${all}`])).stdout) as ImageManifest;
  t.deepEqual(raw.layers.map((l) => l.mediaType), [MediaType.ociLayerZstd, MediaType.ociLayerZstd]);
  const some = `${reg.host}/kiln/exported:some-zstd`;
  const kept = await kiln(root, ['push', '--compression-format', 'zstd', '--no-force-compression', '--compression-level', '19', 'exported:1', some]);
  t.is(kept.code, 0, kept.stderr);
  const raw2 = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${some}`])).stdout) as ImageManifest;
  t.deepEqual(raw2.layers.map((l) => l.mediaType), [MediaType.ociLayerGzip, MediaType.ociLayerZstd]);
  const bad = await kiln(root, ['push', '--compression-format', 'lz4', 'exported:1', some]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /kiln push: unknown compression "lz4"/);
  t.notRegex(bad.stderr, /\n\s+at /);
});

test.serial('a build that pushes packs its layer gzipped itself: the pushed manifest is the stored one', async (t) => {
  const target = `${reg.host}/kiln/packed:1`;
  const meta = join(dir, 'packed-meta.json');
  // Steps no other test builds: a cached plain layer would be reused as it is, and gzipped by the push.
  const b = await kiln(root, ['build', '--progress', 'plain', '--push', '-t', target, '--metadata-file', meta, '-'], 'FROM busybox\nRUN echo packed > /p\n');
  t.is(b.code, 0, b.stderr);
  const img = await localImage(root, target);
  t.is(img.layers.at(-1)!.mediaType, MediaType.ociLayerGzip);
  const m = JSON.parse(await readFile(meta, 'utf8')) as { 'containerimage.digest': string };
  t.is(m['containerimage.digest'], img.manifestDigest);
});
