import test from 'ava';
import { execFileSync } from 'node:child_process';
import { cp, lstat, mkdir, mkdtemp, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAttribute } from 'fs-xattr';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { applyLayer, createLayerTar } from './index.js';
import { snapshotTree } from './test-support.js';

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const tarNames = (tar: Buffer): string[] => execFileSync('tar', ['-tf', '-'], { input: tar }).toString().trim().split('\n');

/**
 * A real overlayfs (root needed): lower has files and dirs; through the mount a file and a dir
 * are deleted, a dir is replaced (which overlayfs marks opaque) and a file is added.
 */
async function overlayScenario(t: { teardown: (f: () => Promise<void>) => void }) {
  const base = await mkdtemp(join(tmpdir(), 'kiln-overlay-'));
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => join(base, d)) as [string, string, string, string];
  for (const d of [lower, upper, work, merged]) await mkdir(d);
  await mkdir(join(lower, 'gone-dir/deep'), { recursive: true });
  await writeFile(join(lower, 'gone-dir/deep/f'), 'x');
  await writeFile(join(lower, 'gone-file'), 'x');
  await mkdir(join(lower, 'replaced'));
  await writeFile(join(lower, 'replaced/old'), 'old');
  await writeFile(join(lower, 'kept'), 'kept');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
  let mounted = true;
  const unmount = () => {
    if (mounted) execFileSync('umount', [merged]);
    mounted = false;
  };
  t.teardown(async () => {
    unmount();
    await rm(base, { recursive: true, force: true });
  });
  await unlink(join(merged, 'gone-file'));
  await rm(join(merged, 'gone-dir'), { recursive: true });
  await rm(join(merged, 'replaced'), { recursive: true });
  await mkdir(join(merged, 'replaced'));
  await writeFile(join(merged, 'replaced/new'), 'new');
  await writeFile(join(merged, 'added'), 'added');
  const expectedMerged = await snapshotTree(merged, { mtimes: false });
  unmount();
  return { base, lower, upper, expectedMerged };
}

test('an overlayfs upper dir becomes OCI whiteouts, and applying them onto the lower gives the merged view', async (t) => {
  const { base, lower, upper, expectedMerged } = await overlayScenario(t);
  const tar = await collect(createLayerTar(upper));
  const names = tarNames(tar);
  t.true(names.includes('.wh.gone-file'), names.join(' '));
  t.true(names.includes('.wh.gone-dir'), names.join(' '));
  t.true(names.includes('replaced/.wh..wh..opq'), names.join(' '));
  t.true(names.includes('replaced/new'));
  t.false(names.includes('gone-file'), 'the 0/0 char device itself is not in the layer');
  // The opaque marker comes right after its directory, before the directory's contents.
  t.is(names.indexOf('replaced/.wh..wh..opq'), names.indexOf('replaced/') + 1);
  // overlay's own xattrs never leak into the layer.
  t.notRegex(execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', '-'], { input: tar }).toString(), /trusted\.overlay/);

  const flat = join(base, 'flat');
  await cp(lower, flat, { recursive: true });
  await applyLayer(Readable.from([tar]), flat, { whiteouts: 'apply' });
  t.deepEqual(await snapshotTree(flat, { mtimes: false }), expectedMerged);
});

test("whiteouts: 'overlay' turns whiteouts back into overlayfs form, and mounting it gives the merged view", async (t) => {
  const { base, lower, upper, expectedMerged } = await overlayScenario(t);
  const tar = await collect(createLayerTar(upper));
  const layerDir = join(base, 'layer');
  await mkdir(layerDir);
  await applyLayer(Readable.from([tar]), layerDir, { whiteouts: 'overlay' });

  const wh = await lstat(join(layerDir, 'gone-file'));
  t.true(wh.isCharacterDevice());
  t.is(wh.rdev, 0);
  t.true((await lstat(join(layerDir, 'gone-dir'))).isCharacterDevice());
  t.is((await getAttribute(join(layerDir, 'replaced'), 'trusted.overlay.opaque')).toString(), 'y');

  // A read-only overlay of the extracted layer on the original lower is the same tree.
  const view = join(base, 'view');
  await mkdir(view);
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${layerDir}:${lower}`, view]);
  try {
    t.deepEqual(await snapshotTree(view, { mtimes: false }), expectedMerged);
  } finally {
    execFileSync('umount', [view]);
    await rmdir(view);
  }

  // And tarring the extracted layer again gives the same layer bytes.
  t.true((await collect(createLayerTar(layerDir))).equals(tar));
});

test('with overlayWhiteouts false, 0/0 char devices and the opaque xattr are archived as they are', async (t) => {
  const { upper } = await overlayScenario(t);
  const names = tarNames(await collect(createLayerTar(upper, { overlayWhiteouts: false })));
  t.true(names.includes('gone-file'));
  t.false(names.some((n) => n.includes('.wh.')));
});

test("whiteouts: 'apply' keeps what the same layer put in an opaque dir and deletes the rest", async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'kiln-opq-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const target = join(base, 't');
  await mkdir(join(target, 'd'), { recursive: true });
  await writeFile(join(target, 'd/below'), 'b');
  await writeFile(join(target, 'sibling'), 's');
  const tar = tarStream.pack();
  tar.entry({ name: 'd/', type: 'directory', mtime: new Date(0) });
  tar.entry({ name: 'd/mine', mtime: new Date(0) }, 'm');
  tar.entry({ name: 'd/.wh..wh..opq', mtime: new Date(0) }, '');
  tar.entry({ name: '.wh.nothing-there', mtime: new Date(0) }, '');
  tar.finalize();
  await applyLayer(Readable.from([await collect(tar)]), target);
  t.deepEqual(
    (await snapshotTree(target, { mtimes: false })).map((l) => l.split(' ')[0]),
    ['d', 'd/mine', 'sibling'],
  );
});
