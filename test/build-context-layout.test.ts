/**
 * `--build-context NAME=oci-layout://DIR[:TAG|@DIGEST]`: an image read from an OCI image layout
 * directory (here one kiln saved and untarred), for FROM and COPY --from, with real runc.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freshRoot, kiln } from './build-helpers.js';

const run = promisify(execFile);
let dir: string;
let root: string;
let layout: string;
let manifestDigest: string;
let cleanup: () => Promise<void>;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-layout-ctx-'));
  ({ root, cleanup } = await freshRoot());
  const made = await kiln(root, ['build', '--progress', 'plain', '-t', 'example.com/app:v2', '-'], 'FROM busybox\nRUN echo from-layout > /marker\n');
  if (made.code !== 0) throw new Error(made.stderr);
  layout = join(dir, 'layout');
  await mkdir(layout);
  const saved = await kiln(root, ['save', '--format', 'oci', '-o', join(dir, 'app.tar'), 'example.com/app:v2']);
  if (saved.code !== 0) throw new Error(saved.stderr);
  await run('tar', ['-xf', join(dir, 'app.tar'), '-C', layout]);
  manifestDigest = (JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] }).manifests[0]!.digest;
  // The image leaves the store: the build must read it from the layout alone.
  const removed = await kiln(root, ['rmi', 'example.com/app:v2']);
  if (removed.code !== 0) throw new Error(removed.stderr);
});

test.after.always(async () => {
  await cleanup?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function context(name: string, dockerfile: string): Promise<string> {
  const ctx = join(dir, name);
  await mkdir(ctx);
  await writeFile(join(ctx, 'Dockerfile'), dockerfile);
  return ctx;
}

test.serial('FROM and COPY --from a layout, by tag, by digest, or as its only image', async (t) => {
  const ctx = await context('uses', 'FROM base\nRUN cat /marker > /seen\nCOPY --from=base /marker /copied\n');
  for (const [i, value] of [`oci-layout://${layout}:v2`, `oci-layout://${layout}@${manifestDigest}`, `oci-layout://${layout}`].entries()) {
    const b = await kiln(root, ['build', '--progress', 'plain', '-t', `built:${i}`, '--build-context', `base=${value}`, ctx]);
    t.is(b.code, 0, b.stderr);
    const r = await kiln(root, ['run', '--rm', `built:${i}`, 'cat', '/seen', '/copied']);
    t.is(r.stdout, 'from-layout\nfrom-layout\n', value);
  }
});

test.serial('a named context replaces the stage of the same name everywhere, and that stage is not built (BuildKit testNamedImageContext)', async (t) => {
  // The stage would fail if it ran; FROM, COPY --from and RUN --mount from= all read the context.
  const dockerfile = 'FROM busybox AS base\nRUN false\nFROM base\nRUN --mount=from=base,target=/m cat /m/marker > /mounted\nCOPY --from=base /marker /copied\n';
  const ctx = await context('replaces', dockerfile);
  const b = await kiln(root, ['build', '--progress', 'plain', '-t', 'replaced:1', '--build-context', `base=oci-layout://${layout}:v2`, ctx]);
  t.is(b.code, 0, b.stderr);
  t.notRegex(b.stderr, /RUN false/);
  t.is((await kiln(root, ['run', '--rm', 'replaced:1', 'cat', '/marker', '/mounted', '/copied'])).stdout, 'from-layout\nfrom-layout\nfrom-layout\n');
  const files = join(dir, 'replacing-dir');
  await mkdir(files);
  await writeFile(join(files, 'marker'), 'from-dir\n');
  const d = await kiln(root, ['build', '--progress', 'plain', '-t', 'replaced:2', '--build-context', `base=${files}`, await context('replaces-dir', 'FROM busybox AS base\nRUN false\nFROM busybox\nCOPY --from=base /marker /copied\n')]);
  t.is(d.code, 0, d.stderr);
  t.is((await kiln(root, ['run', '--rm', 'replaced:2', 'cat', '/copied'])).stdout, 'from-dir\n');
});

test.serial('a missing layout, an unknown tag and a daemon build are clear errors', async (t) => {
  const ctx = await context('errors', 'FROM base\n');
  const missing = await kiln(root, ['build', '--build-context', `base=oci-layout://${join(dir, 'nowhere')}`, ctx]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /Dockerfile:1:1: oci-layout:\/\/\S+nowhere: no index\.json there: not an OCI image layout\n  FROM base\n/);
  const tag = await kiln(root, ['build', '--build-context', `base=oci-layout://${layout}:v9`, ctx]);
  t.is(tag.code, 1);
  t.regex(tag.stderr, /no image is tagged "v9"/);
  t.regex(tag.stderr, /hint: tags there: v2; give oci-layout:\/\/DIR:TAG/);
  const remote = await kiln(root, ['--host', 'unix:///nonexistent.sock', 'build', '--build-context', `base=oci-layout://${layout}`, ctx]);
  t.is(remote.code, 1);
  t.regex(remote.stderr, /a daemon cannot read this machine's directories/);
  for (const r of [missing, tag, remote]) t.notRegex(r.stderr, /\n\s+at /);
});
