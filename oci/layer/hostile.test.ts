import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { getAttribute } from 'fs-xattr';
import tar from 'tar-stream';
import { applyLayer, LayerError } from './index.js';
import { exists, listPaths } from './test-support.js';
import { checkoutView, tsxArgs } from '../../test/read-checkout.js';

type Entry = Partial<tar.Header> & { name: string; body?: string };

/** Builds a tar with tar-stream (an independent writer) so hostile archives are not shaped by kiln's own. */
async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const { body, ...header } of entries) {
    await new Promise<void>((resolve, reject) => pack.entry({ ...header, mtime: header.mtime ?? new Date(0) }, body ?? '', (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** A sandbox: `target` to extract into, and `outside` next to it that must stay untouched. */
async function sandbox(t: { teardown: (f: () => Promise<void>) => void }): Promise<{ base: string; target: string; outside: string }> {
  const base = await mkdtemp(join(tmpdir(), 'kiln-hostile-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const target = join(base, 'target');
  const outside = join(base, 'outside');
  await mkdir(target);
  await mkdir(outside);
  await writeFile(join(outside, 'keep'), 'original');
  return { base, target, outside };
}

const hostile: { title: string; entries: (s: { outside: string; base: string }) => Entry[]; code: string }[] = [
  { title: 'a ../ path', code: 'E_LAYER_UNSAFE_PATH', entries: () => [{ name: '../outside/evil', body: 'x' }] },
  { title: 'a ../ path hidden in the middle', code: 'E_LAYER_UNSAFE_PATH', entries: () => [{ name: 'a/../../outside/evil', body: 'x' }] },
  { title: 'an absolute path', code: 'E_LAYER_UNSAFE_PATH', entries: ({ outside }) => [{ name: `${outside}/evil`, body: 'x' }] },
  {
    title: 'an absolute symlink to / then a file through it',
    code: 'E_LAYER_UNSAFE_PATH',
    entries: ({ outside }) => [
      { name: 'root', type: 'symlink', linkname: '/' },
      { name: `root${outside}/evil`, body: 'x' },
    ],
  },
  {
    title: 'an absolute symlink to the outside dir then a file through it',
    code: 'E_LAYER_UNSAFE_PATH',
    entries: ({ outside }) => [
      { name: 'out', type: 'symlink', linkname: outside },
      { name: 'out/evil', body: 'x' },
    ],
  },
  {
    title: 'a relative symlink to .. then a file through it',
    code: 'E_LAYER_UNSAFE_PATH',
    entries: () => [
      { name: 'up', type: 'symlink', linkname: '..' },
      { name: 'up/outside/evil', body: 'x' },
    ],
  },
  {
    title: 'a chain of relative symlinks that climbs out',
    code: 'E_LAYER_UNSAFE_PATH',
    entries: () => [
      { name: 'a', type: 'directory' },
      { name: 'a/b', type: 'symlink', linkname: '../c' },
      { name: 'c', type: 'symlink', linkname: 'a/../..' },
      { name: 'a/b/outside/evil', body: 'x' },
    ],
  },
  {
    title: 'a symlink to .. then a directory through it',
    code: 'E_LAYER_UNSAFE_PATH',
    entries: () => [
      { name: 'up', type: 'symlink', linkname: '..' },
      { name: 'up/outside/newdir', type: 'directory' },
    ],
  },
  { title: 'a hard link to ../', code: 'E_LAYER_UNSAFE_PATH', entries: () => [{ name: 'pw', type: 'link', linkname: '../outside/keep' }] },
  {
    title: 'a hard link through a symlink that points out',
    code: 'E_LAYER_UNSAFE_PATH',
    entries: ({ outside }) => [
      { name: 'out', type: 'symlink', linkname: outside },
      { name: 'pw', type: 'link', linkname: 'out/keep' },
    ],
  },
  { title: 'a whiteout that climbs out', code: 'E_LAYER_UNSAFE_PATH', entries: () => [{ name: '../outside/.wh.keep' }] },
  {
    title: 'a whiteout through a symlink that points out',
    code: 'E_LAYER_UNSAFE_PATH',
    entries: ({ outside }) => [
      { name: 'out', type: 'symlink', linkname: outside },
      { name: 'out/.wh.keep' },
    ],
  },
  {
    title: 'an opaque marker through a symlink that points out',
    code: 'E_LAYER_UNSAFE_PATH',
    entries: ({ outside }) => [
      { name: 'out', type: 'symlink', linkname: outside },
      { name: 'out/.wh..wh..opq' },
    ],
  },
  { title: 'a whiteout of ..', code: 'E_LAYER_UNSAFE_PATH', entries: () => [{ name: 'a/.wh...' }] },
];

for (const { title, entries, code } of hostile) {
  test(`refuses ${title} and writes nothing outside`, async (t) => {
    const s = await sandbox(t);
    const before = await listPaths(s.base);
    const blob = await makeTar(entries(s));
    const err = await t.throwsAsync(applyLayer(Readable.from([blob]), s.target), { instanceOf: LayerError });
    t.is(err?.code, code, err?.message);
    t.is(await readFile(join(s.outside, 'keep'), 'utf8'), 'original');
    const after = (await listPaths(s.base)).filter((p) => !p.startsWith('target/') && p !== 'target');
    t.deepEqual(after, before.filter((p) => !p.startsWith('target/') && p !== 'target'));
  });
}

test('an absolute hard link target means the layer root, never the host', async (t) => {
  const s = await sandbox(t);
  const blob = await makeTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', body: 'layer passwd' },
    { name: 'pw', type: 'link', linkname: '/etc/passwd' },
  ]);
  await applyLayer(Readable.from([blob]), s.target);
  t.is(await readFile(join(s.target, 'pw'), 'utf8'), 'layer passwd');
});

test('a hard link to /etc/passwd with no such file in the layer is refused, not linked to the host file', async (t) => {
  const s = await sandbox(t);
  const blob = await makeTar([{ name: 'pw', type: 'link', linkname: '/etc/passwd' }]);
  const err = await t.throwsAsync(applyLayer(Readable.from([blob]), s.target), { instanceOf: LayerError });
  t.is(err?.code, 'E_LAYER_CORRUPT');
  t.false(await exists(join(s.target, 'pw')));
});

test('a file entry replaces a symlink of the same name instead of writing through it', async (t) => {
  const s = await sandbox(t);
  const blob = await makeTar([
    { name: 'x', type: 'symlink', linkname: join(s.outside, 'keep') },
    { name: 'x', body: 'replaced' },
  ]);
  await applyLayer(Readable.from([blob]), s.target);
  t.is(await readFile(join(s.outside, 'keep'), 'utf8'), 'original');
  t.is(await readFile(join(s.target, 'x'), 'utf8'), 'replaced');
});

test('a symlink already in the target that points out is resolved inside the target, never followed out', async (t) => {
  const s = await sandbox(t);
  await symlink(s.outside, join(s.target, 'lib'));
  const blob = await makeTar([{ name: 'lib/evil', body: 'x' }]);
  await applyLayer(Readable.from([blob]), s.target);
  t.false(await exists(join(s.outside, 'evil')));
  t.is(await readFile(join(s.target, s.outside, 'evil'), 'utf8'), 'x');
});

test('a lower layer\'s absolute directory symlink is followed as in the container (var/run -> /run)', async (t) => {
  const s = await sandbox(t);
  await mkdir(join(s.target, 'run'));
  await mkdir(join(s.target, 'var'));
  await symlink('/run', join(s.target, 'var/run'));
  await symlink('../../..', join(s.target, 'var/up'));
  const blob = await makeTar([
    { name: 'var/run/app.pid', body: '1' },
    { name: 'var/up/top', body: 't' },
  ]);
  await applyLayer(Readable.from([blob]), s.target);
  t.is(await readFile(join(s.target, 'run/app.pid'), 'utf8'), '1');
  t.is(await readFile(join(s.target, 'top'), 'utf8'), 't');
  t.false(await exists(join(s.base, 'top')));
});

test('relative symlinks that stay inside are followed for parent directories', async (t) => {
  const s = await sandbox(t);
  const blob = await makeTar([
    { name: 'usr/lib/', type: 'directory' },
    { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
    { name: 'lib/libc.so', body: 'c' },
    { name: 'usr/bin', type: 'symlink', linkname: '../lib/../lib' },
    { name: 'usr/bin/tool', body: 't' },
  ]);
  await applyLayer(Readable.from([blob]), s.target);
  t.is(await readFile(join(s.target, 'usr/lib/libc.so'), 'utf8'), 'c');
  t.is(await readFile(join(s.target, 'usr/lib/tool'), 'utf8'), 't');
});

test('a truncated tar is a clear E_LAYER_CORRUPT error', async (t) => {
  const s = await sandbox(t);
  const blob = await makeTar([{ name: 'big', body: 'y'.repeat(5000) }]);
  const err = await t.throwsAsync(applyLayer(Readable.from([blob.subarray(0, 2048)]), s.target), { instanceOf: LayerError });
  t.is(err?.code, 'E_LAYER_CORRUPT');
});

test('garbage is refused as a corrupt layer', async (t) => {
  const s = await sandbox(t);
  const err = await t.throwsAsync(applyLayer(Readable.from([Buffer.alloc(1024, 'z')]), s.target), { instanceOf: LayerError });
  t.is(err?.code, 'E_LAYER_CORRUPT');
});

test('device nodes are refused when not running as root', async (t) => {
  const s = await sandbox(t);
  await chmod(s.base, 0o755);
  await chmod(s.target, 0o777);
  const blob = await makeTar([{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 }]);
  const tarPath = join(s.base, 'dev.tar');
  await writeFile(tarPath, blob);
  const child = join(dirname(fileURLToPath(import.meta.url)), 'apply-as-child.ts');
  const [cmd, ...args] = checkoutView.wrap(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...tsxArgs(child), tarPath, s.target]);
  const r = spawnSync(cmd!, args, { encoding: 'utf8', cwd: dirname(fileURLToPath(import.meta.url)) });
  t.is(r.status, 3, r.stderr);
  t.regex(r.stdout, /^E_LAYER_DEVICE /);
  t.false(await exists(join(s.target, 'null')));
});

/** apply-as-child.ts as root of a new user namespace that maps only root: what rootless kiln's root may do. */
async function applyInUserNamespace(base: string, blob: Buffer, target: string, whiteouts: 'overlay' | 'apply'): Promise<ReturnType<typeof spawnSync>> {
  const tarPath = join(base, 'layer.tar');
  await writeFile(tarPath, blob);
  const child = join(dirname(fileURLToPath(import.meta.url)), 'apply-as-child.ts');
  return spawnSync('unshare', ['--user', '--map-root-user', process.execPath, '--import', import.meta.resolve('tsx'), child, tarPath, target, whiteouts], {
    encoding: 'utf8',
    cwd: dirname(fileURLToPath(import.meta.url)),
  });
}

test('as root of a user namespace (rootless): device nodes are left out, whiteouts are 0/0 devices, opaque dirs get user.overlay.opaque', async (t) => {
  const s = await sandbox(t);
  const blob = await makeTar([
    { name: 'null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'd/', type: 'directory', mode: 0o755 },
    { name: 'd/.wh..wh..opq', body: '' },
    { name: '.wh.gone', body: '' },
    { name: 'kept', body: 'x' },
  ]);
  const r = await applyInUserNamespace(s.base, blob, s.target, 'overlay');
  t.is(r.status, 0, String(r.stderr) + String(r.stdout));
  t.false(await exists(join(s.target, 'null')));
  const gone = await stat(join(s.target, 'gone'));
  t.true(gone.isCharacterDevice() && gone.rdev === 0);
  t.is((await getAttribute(join(s.target, 'd'), 'user.overlay.opaque')).toString(), 'y');
  t.is(await readFile(join(s.target, 'kept'), 'utf8'), 'x');
});

test('as root of a user namespace (rootless): an owner outside the mapped ids is E_LAYER_UNMAPPED_ID, naming them', async (t) => {
  const s = await sandbox(t);
  const r = await applyInUserNamespace(s.base, await makeTar([{ name: 'far', body: 'x', uid: 1000, gid: 1000 }]), s.target, 'apply');
  t.is(r.status, 3, String(r.stderr));
  t.is(r.stdout, 'E_LAYER_UNMAPPED_ID layer entry "far" is owned by 1000:1000, outside the ids kiln\'s user namespace maps (0)\n');
});

test('a directory replaced by an outward symlink later in the layer does not get its mode applied outside', async (t) => {
  const s = await sandbox(t);
  await chmod(s.outside, 0o755);
  const blob = await makeTar([
    { name: 'd/', type: 'directory', mode: 0o700 },
    { name: 'd', type: 'symlink', linkname: s.outside },
  ]);
  await applyLayer(Readable.from([blob]), s.target);
  t.is((await stat(s.outside)).mode & 0o777, 0o755);
});
