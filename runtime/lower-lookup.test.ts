import test from 'ava';
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsXattr } from '../common/fs-xattr.js';
import { lookupInLowers, readInLowers } from './lower-lookup.js';

/** Layers in overlay-lower form, bottom-most first, each a list of [path, what]. */
const LAYERS: [string, 'dir' | 'opaque' | 'whiteout' | 'symlink' | string][][] = [
  [
    ['etc', 'dir'],
    ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'],
    ['etc/group', 'root:x:0:\n'],
    ['a', 'dir'],
    ['a/b', 'dir'],
    ['a/b/old', 'old'],
    ['a/keep', 'keep'],
    ['gone', 'dir'],
    ['gone/f', 'f'],
    ['file-then-dir', 'x'],
    ['dir-then-file', 'dir'],
    ['dir-then-file/f', 'f'],
    ['link', 'symlink'],
    ['real', 'dir'],
    ['real/f', 'f'],
  ],
  [
    ['etc', 'dir'],
    ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n'],
    ['a', 'dir'],
    ['a/b', 'opaque'],
    ['a/b/new', 'new'],
    ['gone', 'whiteout'],
    ['file-then-dir', 'dir'],
    ['file-then-dir/g', 'g'],
    ['dir-then-file', 'file'],
  ],
  [['etc', 'dir'], ['etc/group', 'whiteout'], ['a', 'dir'], ['a/top', 'top']],
];

const PATHS = [
  '/', '/etc', '/etc/passwd', '/etc/group', '/a', '/a/b', '/a/b/old', '/a/b/new', '/a/keep', '/a/top', '/gone', '/gone/f',
  '/file-then-dir', '/file-then-dir/g', '/dir-then-file', '/dir-then-file/f', '/nothing', '/a/nothing', '/link', '/link/f', '/real/f',
];

async function makeLayers(root: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const [i, layer] of LAYERS.entries()) {
    const dir = join(root, `l${i}`);
    await mkdir(dir);
    for (const [path, what] of layer) {
      const p = join(dir, path);
      if (what === 'dir') await mkdir(p);
      else if (what === 'opaque') {
        await mkdir(p);
        await fsXattr().setAttribute(p, 'trusted.overlay.opaque', 'y');
      } else if (what === 'whiteout') execFileSync('mknod', [p, 'c', '0', '0']);
      else if (what === 'symlink') await symlink('real', p);
      else await writeFile(p, what === 'file' ? 'file' : what);
    }
    dirs.push(dir);
  }
  return dirs;
}

test('lookups through lower dirs agree with an overlay mount of them', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'kiln-lower-lookup-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const lowers = await makeLayers(root);
  const merged = join(root, 'merged');
  await mkdir(merged);
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...lowers].reverse().join(':')}`, merged]);
  try {
    for (const path of PATHS) {
      const found = lookupInLowers(lowers, path);
      let st;
      try {
        st = lstatSync(join(merged, path));
      } catch {
        st = undefined;
      }
      const truth: string = st === undefined ? 'missing' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
      if (found.kind === 'unknown') {
        t.true(path.startsWith('/link'), `${path}: only a symlink on the way may leave it unknown`);
        continue;
      }
      t.is<string, string>(found.kind, truth, path);
      if (found.kind === 'file') t.is(readFileSync(found.hostPath, 'utf8'), readFileSync(join(merged, path), 'utf8'), path);
    }
    t.is(readInLowers(lowers, '/etc/passwd'), readFileSync(join(merged, 'etc/passwd'), 'utf8'));
    t.is(readInLowers(lowers, '/etc/group'), '', 'a whited-out file reads as missing');
    t.is(readInLowers(lowers, '/link/f'), undefined, 'a symlink on the way needs a mount');
  } finally {
    execFileSync('umount', [merged]);
  }
});
