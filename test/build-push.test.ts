/**
 * `kiln build --push`, `--output type=image,name=REF,push=true` and inline cache, end to end:
 * real docker-registry on 127.0.0.1, real runc, skopeo as the independent reader.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { INLINE_CACHE_FIELD, openStore } from '../cache/index.js';
import { build, exportImage } from '../solver/index.js';
import { fixtures, freshRoot, kiln } from './build-helpers.js';
import { cliBuild, type CliBuild } from './cli-build.js';
import { startRegistry, type RegistryServer } from './registry-server.js';

const run = promisify(execFile);
const ctx = join(fixtures, 'cache-remote');
let reg: RegistryServer;
const cleanups: (() => Promise<void>)[] = [];

async function fresh(): Promise<string> {
  const r = await freshRoot();
  cleanups.push(r.cleanup);
  return r.root;
}

function buildFixture(root: string, args: string[]): Promise<CliBuild> {
  return cliBuild(root, args, ctx);
}

async function skopeoDigest(ref: string): Promise<string> {
  const out = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`]);
  return (JSON.parse(out.stdout) as { Digest: string }).Digest;
}

test.before(async () => {
  reg = await startRegistry();
});

test.after.always(async () => {
  for (const c of cleanups) await c();
  await reg?.stop();
});

test.serial('--push with inline cache: skopeo agrees on the digest; a fresh root using the image as --cache-from reuses the final stage and builds the same image', async (t) => {
  const target = `${reg.host}/kiln/app:1`;
  const root = await fresh();
  const pushed = await buildFixture(root, ['--push', '-t', target, '--cache-to', 'type=inline']);
  t.is(pushed.code, 0, pushed.stderr);
  t.true(pushed.stderr.includes(`pushed ${target}@${pushed.digest}`), pushed.stderr);
  t.is(await skopeoDigest(target), pushed.digest);

  const config = JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', '--config', '--raw', `docker://${target}`])).stdout) as Record<string, { records: Record<string, unknown> }>;
  t.is(Object.keys(config[INLINE_CACHE_FIELD]?.records ?? {}).length, 2, 'inline cache is min mode: the COPY and the final RUN');

  // Pushed too: the store keeps layers plain, and what a push sends is what two builds must agree on.
  const other = await fresh();
  const rebuilt = await buildFixture(other, ['--push', '-t', `${reg.host}/kiln/app:rebuilt`, '--cache-from', target, '--cache-to', 'type=inline']);
  t.is(rebuilt.code, 0, rebuilt.stderr);
  t.is(rebuilt.ran.length, 2, rebuilt.ran.join(' | '));
  t.true(rebuilt.ran.every((n) => n.startsWith('RUN echo') || n.startsWith('RUN --mount')), 'only the builder stage, which inline cache does not cover, ran');
  t.is(rebuilt.digest, pushed.digest);
});

test.serial('--output type=image,name=REF,push=true names the image and pushes it', async (t) => {
  const target = `${reg.host}/kiln/named:2`;
  const root = await fresh();
  const r = await buildFixture(root, ['--output', `type=image,name=${target},push=true`]);
  t.is(r.code, 0, r.stderr);
  t.is(await skopeoDigest(target), r.digest);
  const listed = await kiln(root, ['images']);
  t.true(listed.stdout.includes(`${reg.host}/kiln/named`), listed.stdout);
});

test.serial('a push sends the build\'s own image when another build has taken its name since', async (t) => {
  const target = `${reg.host}/kiln/raced:1`;
  const root = await fresh();
  const store = await openStore(root);
  try {
    const built = (label: string) => build({ stateRoot: root, store, dockerfile: `FROM busybox\nLABEL build=${label}\n`, dockerfileName: 'Dockerfile', tags: [target] });
    const first = await built('first');
    // As with two daemon clients: the second build names its image before the first pushes.
    const second = await built('second');
    t.not(second.manifestDigest, first.manifestDigest);
    const { pushed } = await exportImage(store, first, { type: 'image', push: true });
    t.deepEqual(pushed.map((p) => [p.reference, p.manifestDigest]), [[target, first.manifestDigest]]);
    t.is(await skopeoDigest(target), first.manifestDigest);
  } finally {
    store.close();
  }
});

test('--push without a name fails before building', async (t) => {
  const root = await fresh();
  const r = await kiln(root, ['build', '--push', '-'], 'FROM busybox\n');
  t.is(r.code, 1);
  t.regex(r.stderr, /pushing needs a name for the image/);
  t.notRegex(r.stderr, /\n\s+at /);
});
