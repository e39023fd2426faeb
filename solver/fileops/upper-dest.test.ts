import test from 'ava';
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsXattr, isOverlayXattr } from '../../common/fs-xattr.js';
import { selectSources, TreeView } from '../context/index.js';
import { accountsIn, resolveChown } from './chown.js';
import { absoluteDest, copyMatches, destIsDirectory } from './copy.js';
import { mkdir as workdirMkdir } from './mkdir.js';
import { accountsInLowers, copyUpDirs, upperOnlyDirs, upperOnlyMkdir } from './upper-dest.js';

const EPOCH = 1_600_000_000;
const CREATED = 1_700_000_000;

type Spec = [path: string, what: 'dir' | 'opaque' | 'whiteout' | 'symlink' | string, mode?: number, owner?: number];

/** Layers in overlay-lower form, bottom-most first. */
const LAYERS: Spec[][] = [
  [
    ['etc', 'dir'],
    ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n'],
    ['etc/group', 'root:x:0:\napp:x:1001:\nstaff:x:50:\n'],
    ['app', 'dir', 0o750, 1000],
    ['app/old.txt', 'old'],
    ['data', 'dir', 0o2775, 50],
    ['data/existing', 'dir'],
    ['link', 'symlink'],
    ['file', 'plain'],
    ['shadowed', 'dir'],
    ['shadowed/deep', 'dir'],
  ],
  [
    ['app', 'dir', 0o750, 1000],
    ['app/sub', 'dir', 0o700, 7],
    ['data', 'opaque', 0o2775, 50],
    ['data/fresh', 'dir'],
    ['shadowed', 'whiteout'],
  ],
];

/** The build context the copies read from. */
const SOURCE: Spec[] = [
  ['f1.txt', 'one'],
  ['existing', 'a file named like a dir an opaque dir hides'],
  ['sub', 'a file named like a dir below'],
  ['dir1', 'dir', 0o755],
  ['dir1/a', 'a'],
  ['dir1/b', 'dir', 0o711],
  ['dir1/b/c', 'c'],
  ['dir2', 'dir'],
  ['dir2/sub', 'x'],
];

async function make(dir: string, specs: Spec[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [path, what, mode, owner] of specs) {
    const p = join(dir, path);
    if (what === 'dir' || what === 'opaque') {
      await mkdir(p, { recursive: true });
      if (what === 'opaque') await fsXattr().setAttribute(p, 'trusted.overlay.opaque', 'y');
      await fsXattr().setAttribute(p, 'user.kiln-test', path);
    } else if (what === 'whiteout') execFileSync('mknod', [p, 'c', '0', '0']);
    else if (what === 'symlink') await symlink('/app', p);
    else await writeFile(p, what);
    if (what !== 'symlink' && what !== 'whiteout') {
      if (mode !== undefined) execFileSync('chmod', [mode.toString(8), p]);
      if (owner !== undefined) await chown(p, owner, owner);
    }
  }
  // Times last, deepest first: making an entry would change its directory's.
  for (const [path, what] of [...specs].reverse()) if (what !== 'symlink' && what !== 'whiteout') await utimes(join(dir, path), EPOCH, EPOCH);
}

interface Copy {
  sources: string[];
  dest: string;
  workdir?: string;
}

/** Every entry under `root` with what a layer keeps of it, overlay's own attributes left out. */
function snapshotTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const p = join(root, r);
      const st = lstatSync(p);
      const what = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : st.isFile() ? readFileSync(p, 'utf8') : `dev ${st.rdev}`;
      const xattrs = st.isSymbolicLink() ? [] : fsXattr().listAttributesSync(p).filter((n) => !isOverlayXattr(n)).sort();
      out.push(`${r} ${what} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${Math.floor(st.mtimeMs / 1000)} [${xattrs.join(' ')}]`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

async function setup(t: { teardown(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), 'kiln-upper-dest-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const lowers: string[] = [];
  for (const [i, layer] of LAYERS.entries()) {
    await make(join(root, `l${i}`), layer);
    lowers.push(join(root, `l${i}`));
  }
  await make(join(root, 'src'), SOURCE);
  return { root, lowers, view: new TreeView(join(root, 'src')) };
}

function viaOverlay(root: string, lowers: string[], view: TreeView, c: Copy, n: number): Promise<string[]> {
  return inOverlay(root, lowers, n, (merged) => copyMatches(view, selectSources(view, c.sources), { dest: c.dest, destRoot: merged, workdir: c.workdir ?? '/', createdTime: CREATED }));
}

async function direct(root: string, lowers: string[], view: TreeView, c: Copy, n: number): Promise<string[] | undefined> {
  const matches = selectSources(view, c.sources);
  const dirs = upperOnlyDirs(lowers, view, absoluteDest(c.dest, c.workdir ?? '/'), destIsDirectory(c.dest), matches);
  if (!dirs) return undefined;
  const upper = join(root, `direct${n}`);
  await mkdir(upper);
  copyUpDirs(lowers, upper, dirs);
  await copyMatches(view, matches, { dest: c.dest, destRoot: upper, workdir: c.workdir ?? '/', createdTime: CREATED });
  return snapshotTree(upper);
}

const SAME: [string, Copy][] = [
  ['a file to a new directory', { sources: ['f1.txt'], dest: '/new/dir/f' }],
  ['a file into an existing directory, copied up with its owner, mode and attributes', { sources: ['f1.txt'], dest: '/app/' }],
  ['a file deep in existing directories', { sources: ['f1.txt'], dest: '/app/sub/x.txt' }],
  ['a file over an existing file', { sources: ['f1.txt'], dest: '/app/old.txt' }],
  ['a file into a directory named without a slash', { sources: ['f1.txt'], dest: '/data' }],
  ['a directory to a new place in an existing directory', { sources: ['dir1'], dest: '/app/dir1' }],
  ['a directory into an existing one with no names in common', { sources: ['dir1'], dest: '/data/' }],
  ['a directory into the WORKDIR', { sources: ['dir1'], dest: '.', workdir: '/app' }],
  ['several sources at once', { sources: ['f1.txt', 'dir1'], dest: '/data/fresh/' }],
  ['a directory where a whiteout hid one', { sources: ['dir1'], dest: '/shadowed/' }],
  ['a file named like an entry an opaque directory hides', { sources: ['existing'], dest: '/data/' }],
];

for (const [name, c] of SAME) {
  test(`written into a bare upper dir, ${name} makes the layer an overlay would`, async (t) => {
    const { root, lowers, view } = await setup(t);
    const got = await direct(root, lowers, view, c, 0);
    t.truthy(got, 'expected the copy to need no merged view');
    t.deepEqual(got, await viaOverlay(root, lowers, view, c, 0));
  });
}

const MOUNTED: [string, Copy][] = [
  ['a destination through a symlink', { sources: ['f1.txt'], dest: '/link/x' }],
  ['a directory into one that has an entry of the same name', { sources: ['dir2'], dest: '/app/' }],
  ['a file where a directory is', { sources: ['sub'], dest: '/app/' }],
  ['a path through a file', { sources: ['f1.txt'], dest: '/file/x' }],
  ['a directory onto a file', { sources: ['dir1'], dest: '/file' }],
  ['into a file as a directory', { sources: ['f1.txt'], dest: '/file/' }],
];

for (const [name, c] of MOUNTED) {
  test(`${name} needs the merged view`, async (t) => {
    const { root, lowers, view } = await setup(t);
    t.is(await direct(root, lowers, view, c, 0), undefined);
  });
}

test('with no layers below (FROM scratch) every copy goes to the upper dir', async (t) => {
  const { root, view } = await setup(t);
  t.deepEqual(await direct(root, [], view, { sources: ['dir1'], dest: '/' }, 0), snapshotTree(join(root, 'src', 'dir1')));
});

/** Runs `write` on an overlay of `lowers` mounted at a fresh dir; returns what its upper dir holds. */
async function inOverlay(root: string, lowers: string[], n: number, write: (merged: string) => Promise<void>): Promise<string[]> {
  const [upper, work, merged] = ['u', 'w', 'm'].map((d) => join(root, `overlay${n}`, d)) as [string, string, string];
  for (const d of [upper, work, merged]) await mkdir(d, { recursive: true });
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...lowers].reverse().join(':')},upperdir=${upper},workdir=${work},redirect_dir=off,metacopy=off,index=off`, merged]);
  try {
    await write(merged);
  } finally {
    execFileSync('umount', [merged]);
  }
  return snapshotTree(upper);
}

const WORKDIRS: [string, string][] = [
  ['deep in existing directories', '/app/sub/new'],
  ['with nothing of it there', '/new/a/b'],
  ['that exists whole (an empty layer)', '/app/sub'],
  ['under an opaque directory', '/data/fresh/x'],
  ['where a whiteout hid a directory', '/shadowed/deep/x'],
];

for (const [name, path] of WORKDIRS) {
  test(`WORKDIR ${name}, made in a bare upper dir, makes the layer an overlay would`, async (t) => {
    const { root, lowers } = await setup(t);
    const owner = await resolveChown(accountsInLowers(lowers)!, 'app');
    const plan = upperOnlyMkdir(lowers, path);
    t.truthy(plan);
    const upper = join(root, 'wd-direct');
    await mkdir(upper);
    if (plan !== 'exists') {
      copyUpDirs(lowers, upper, plan!);
      await workdirMkdir(upper, path, owner, CREATED);
    }
    t.deepEqual(snapshotTree(upper), await inOverlay(root, lowers, 0, (merged) => workdirMkdir(merged, path, owner, CREATED)));
  });
}

test('WORKDIR through a symlink or a file needs the merged view', async (t) => {
  const { lowers } = await setup(t);
  t.is(upperOnlyMkdir(lowers, '/link/x'), undefined);
  t.is(upperOnlyMkdir(lowers, '/file/x'), undefined);
});

test('names resolve through the layers below as through the merged view', async (t) => {
  const { root, lowers } = await setup(t);
  const specs = ['app', 'app:staff', 'root:staff', 'ghost', 'app:ghosts', '33:44'];
  const direct = await Promise.all(specs.map((s) => resolveChown(accountsInLowers(lowers)!, s)));
  const merged: unknown[] = [];
  await inOverlay(root, lowers, 1, async (m) => {
    for (const s of specs) merged.push(await resolveChown(accountsIn(m), s));
  });
  t.deepEqual(direct, merged);
  t.deepEqual(direct[0], { uid: 1000, gid: 1001 });
});
