/**
 * Build cache export/import end to end: real docker-registry on 127.0.0.1, real runc. One root
 * builds the fixture and exports its cache three ways; fresh roots (busybox only) import it.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE_CONFIG_MEDIA_TYPE, MOUNT_ANNOTATIONS, openStore, PLAIN_LAYER_ANNOTATION, type CacheDocument } from '../cache/index.js';
import type { ImageManifest, ImageIndex } from '../oci/index.js';
import { fixtures, freshRoot, kiln, rootfsOf } from './build-helpers.js';
import { cliBuild, type CliBuild } from './cli-build.js';
import { freePort, startRegistry, type RegistryServer } from './registry-server.js';

const ctx = join(fixtures, 'cache-remote');
let reg: RegistryServer;
let tmp: string;
let origin: { root: string; cleanup: () => Promise<void> };
let digest: string;
let localCache: string;
const cleanups: (() => Promise<void>)[] = [];

/** `kiln build` of the fixture, tagged app:1. */
function buildFixture(root: string, extra: string[]): Promise<CliBuild> {
  return cliBuild(root, ['-t', 'app:1', ...extra], ctx);
}

async function fresh(): Promise<string> {
  const r = await freshRoot();
  cleanups.push(r.cleanup);
  return r.root;
}

const ref = (tag: string) => `${reg.host}/kiln/cache:${tag}`;

test.before(async () => {
  reg = await startRegistry();
  tmp = await mkdtemp(join(tmpdir(), 'kiln-cache-remote-'));
  localCache = join(tmp, 'local-cache');
  origin = await freshRoot();
  const b = await buildFixture(origin.root, [
    '--cache-to', `type=registry,ref=${ref('max')},mode=max,mounts=true`,
    '--cache-to', `type=registry,ref=${ref('min')}`,
    '--cache-to', `type=local,dest=${localCache},mode=max`,
  ]);
  if (b.code !== 0) throw new Error(`origin build failed: ${b.stderr}`);
  if (b.ran.length !== 4) throw new Error(`origin build should run every step: ${b.ran.join(' | ')}`);
  digest = b.digest;
});

test.after.always(async () => {
  for (const c of cleanups) await c();
  await origin?.cleanup();
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The OCI layout export's manifest and config, read straight from disk. */
async function localExport(): Promise<{ manifest: ImageManifest; doc: CacheDocument }> {
  const index = JSON.parse(await readFile(join(localCache, 'index.json'), 'utf8')) as ImageIndex;
  const blob = (d: string) => readFile(join(localCache, 'blobs', 'sha256', d.slice(7)), 'utf8');
  const manifest = JSON.parse(await blob(index.manifests[0]!.digest)) as ImageManifest;
  return { manifest, doc: JSON.parse(await blob(manifest.config.digest)) as CacheDocument };
}

/** The layers of `root`'s app:1, and the cached layers of the builder stage only (not in the image). */
async function layersOf(root: string): Promise<{ finalLayers: string[]; builderOnly: string[] }> {
  const store = await openStore(root);
  let finalLayers: string[];
  try {
    finalLayers = (await store.resolveImage('app:1')).layers.map((l) => l.digest);
  } finally {
    store.close();
  }
  const { doc } = await localExport();
  return { finalLayers, builderOnly: Object.values(doc.records).map((r) => r.layer.digest).filter((d) => !finalLayers.includes(d)) };
}

test('the cache is a plain OCI manifest with kiln\'s config media type; mode=max holds every stage\'s records', async (t) => {
  const { manifest, doc } = await localExport();
  t.is(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  t.is(manifest.config.mediaType, CACHE_CONFIG_MEDIA_TYPE);
  t.is(Object.keys(doc.records).length, 4, 'two builder RUNs, the COPY and the final RUN');
  // Records name the layers as stored, plain; each travels gzipped, saying which plain layer it carries.
  t.deepEqual(new Set(manifest.layers.map((l) => l.annotations?.[PLAIN_LAYER_ANNOTATION] ?? l.digest)), new Set(Object.values(doc.records).map((r) => r.layer.digest)));
  t.true(manifest.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip'), manifest.layers.map((l) => l.mediaType).join(', '));
});

test('mode=max: a fresh root runs no step, builds the identical image, and fetches only the final image\'s layers', async (t) => {
  const root = await fresh();
  const b = await buildFixture(root, ['--cache-from', ref('max')]);
  t.is(b.code, 0, b.stderr);
  t.deepEqual(b.ran, []);
  t.is(b.digest, digest);

  const { finalLayers, builderOnly } = await layersOf(root);
  t.is(builderOnly.length, 2);
  for (const d of finalLayers) t.true(existsSync(join(root, 'blobs', 'sha256', d.slice(7))), `final layer ${d} fetched`);
  for (const d of builderOnly) t.false(existsSync(join(root, 'blobs', 'sha256', d.slice(7))), `builder layer ${d} not fetched`);

  // The fetched records are now the root's own: a rebuild without --cache-from hits too.
  const again = await buildFixture(root, []);
  t.deepEqual(again.ran.filter((n) => !n.startsWith('RUN echo') && !n.startsWith('RUN --mount')), []);
  t.is(again.digest, digest);
});

test('mode=min: only the final image\'s steps are cached, so the builder stage runs again', async (t) => {
  const root = await fresh();
  const b = await buildFixture(root, ['--cache-from', ref('min')]);
  t.is(b.code, 0, b.stderr);
  t.is(b.ran.length, 2, b.ran.join(' | '));
  t.true(b.ran.every((n) => n.startsWith('RUN echo') || n.startsWith('RUN --mount')), b.ran.join(' | '));
  t.is(b.digest, digest, 'the COPY --from and final RUN hit, so the image is the same');
});

test('type=local round trip: an OCI layout dir exported and imported gives a fully cached, identical build', async (t) => {
  const root = await fresh();
  const b = await buildFixture(root, ['--cache-from', `type=local,src=${localCache}`]);
  t.is(b.code, 0, b.stderr);
  t.deepEqual(b.ran, []);
  t.is(b.digest, digest);
});

test('mounts=true: a cache mount\'s content travels with the cache and is there when a step using it runs on a fresh root', async (t) => {
  const root = await fresh();
  const b = await buildFixture(root, ['--cache-from', ref('max'), '--build-arg', 'SALT=2']);
  t.is(b.code, 0, b.stderr);
  t.true(b.ran.some((n) => n.startsWith('RUN --mount')), 'the step with the cache mount ran');
  const read = async (r: string) => {
    const dir = await rootfsOf(r, 'app:1');
    try {
      return await readFile(join(dir, 'app', 'downloaded'), 'utf8');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const original = await read(origin.root);
  t.regex(original, /^[0-9a-f-]{36}\n$/);
  t.is(await read(root), original, 'the step found the file the first build left in the cache mount');
});

test('the cache mount layer is annotated with its id, owner and mode', async (t) => {
  const res = await fetch(`http://${reg.host}/v2/kiln/cache/manifests/max`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  const manifest = (await res.json()) as ImageManifest;
  const mount = manifest.layers.find((l) => l.annotations?.[MOUNT_ANNOTATIONS.id]);
  t.is(mount?.annotations?.[MOUNT_ANNOTATIONS.id], 'kiln-remote-pkgs');
  t.is(mount?.annotations?.[MOUNT_ANNOTATIONS.uid], '0');
  t.is(mount?.annotations?.[MOUNT_ANNOTATIONS.mode], '755');
});

test('errors: bad --cache-to syntax and an unreachable cache ref fail clearly (unless ignore-error=true); a missing --cache-from ref is only a warning', async (t) => {
  const root = await fresh();
  const dockerfile = 'FROM busybox\n';
  const bad = await kiln(root, ['build', '--cache-to', 'type=registry,mode=max', '-'], dockerfile);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /--cache-to "type=registry,mode=max": ref= is required/);
  t.notRegex(bad.stderr, /\n\s+at /, 'no stack trace');

  const closed = await freePort();
  const unreachable = await kiln(root, ['build', '--cache-to', `type=registry,ref=127.0.0.1:${closed}/x/cache:1`, '-'], dockerfile);
  t.is(unreachable.code, 1);
  t.regex(unreachable.stderr, new RegExp(`cannot export the build cache to 127\\.0\\.0\\.1:${closed}/x/cache:1: .*unreachable`));
  t.notRegex(unreachable.stderr, /\n\s+at /);
  const ignored = await kiln(root, ['build', '--cache-to', `type=registry,ref=127.0.0.1:${closed}/x/cache:1,ignore-error=true`, '-'], dockerfile);
  t.is(ignored.code, 0, ignored.stderr);
  t.regex(ignored.stderr, /WARNING: cannot export the build cache to 127\.0\.0\.1:\d+\/x\/cache:1/);

  const missing = await kiln(root, ['build', '--cache-from', ref('does-not-exist'), '-'], dockerfile);
  t.is(missing.code, 0, missing.stderr);
  t.regex(missing.stderr, /WARNING: cache .*does-not-exist not found; building without it/);
});

test('re-exporting an imported mode=max cache names the layers the build never read, without fetching them', async (t) => {
  const root = await fresh();
  const b = await buildFixture(root, ['--cache-from', ref('max'), '--cache-to', `type=registry,ref=${ref('again')},mode=max`]);
  t.is(b.code, 0, b.stderr);
  t.deepEqual(b.ran, []);
  const { builderOnly } = await layersOf(root);
  t.is(builderOnly.length, 2);
  for (const d of builderOnly) t.false(existsSync(join(root, 'blobs', 'sha256', d.slice(7))), `builder layer ${d} not fetched`);
  // The new export is whole: a fresh root builds from it alone with no step run.
  const other = await fresh();
  const from = await buildFixture(other, ['--cache-from', ref('again')]);
  t.is(from.code, 0, from.stderr);
  t.deepEqual(from.ran, []);
  t.is(from.digest, digest);
});
