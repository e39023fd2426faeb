import test from 'ava';
import { existsSync } from 'node:fs';
import { chmod, chown, link, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { getAttribute, setAttribute } from 'fs-xattr';
import { dirname, join } from 'node:path';
import { openStore } from '../../cache/index.js';
import { openContext, SourceNotFoundError } from '../context/index.js';
import { accountsIn, checkLinkChown, copy, copyInline, FileOpError, mkdir as workdirMkdir, parseChmod, resolveChown, type CopyOptions } from './index.js';

interface Dirs {
  src: string;
  dst: string;
  base: string;
}

async function put(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), data);
  }
}

async function withDirs(files: Record<string, string>, fn: (d: Dirs) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'kiln-copy-'));
  const d = { base, src: join(base, 'src'), dst: join(base, 'dst') };
  await mkdir(d.src);
  await mkdir(d.dst);
  await put(d.src, files);
  try {
    await fn(d);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

const run = (d: Dirs, o: Partial<CopyOptions> & Pick<CopyOptions, 'sources' | 'dest'>) => copy({ sourceRoot: d.src, destRoot: d.dst, workdir: '/', ...o });
const read = (d: Dirs, p: string) => readFile(join(d.dst, p), 'utf8');

test('a file source becomes dest, or lands inside dest when dest ends in / or is a directory', async (t) => {
  await withDirs({ 'a.txt': 'A' }, async (d) => {
    await run(d, { sources: ['a.txt'], dest: '/x/renamed' });
    t.is(await read(d, 'x/renamed'), 'A');
    await run(d, { sources: ['a.txt'], dest: '/y/' });
    t.is(await read(d, 'y/a.txt'), 'A');
    await run(d, { sources: ['a.txt'], dest: '/y' });
    t.is(await read(d, 'y/a.txt'), 'A', 'existing directory without slash');
    t.is((await stat(join(d.dst, 'x'))).mode & 0o7777, 0o755);
  });
});

test('a directory source copies its contents, not the directory itself, merging into dest', async (t) => {
  await withDirs({ 'dir/a': '1', 'dir/sub/b': '2' }, async (d) => {
    await put(d.dst, { 'out/existing': 'keep' });
    await run(d, { sources: ['dir'], dest: '/out' });
    t.is(await read(d, 'out/a'), '1');
    t.is(await read(d, 'out/sub/b'), '2');
    t.is(await read(d, 'out/existing'), 'keep');
    t.false(existsSync(join(d.dst, 'out/dir')));
  });
});

test('several sources to a dest without / go into it when it is a directory, else each becomes it in turn (BuildKit); globs and dest relative to WORKDIR', async (t) => {
  await withDirs({ 'a.txt': '1', 'b.txt': '2', 'c.md': '3' }, async (d) => {
    await run(d, { sources: ['a.txt', 'b.txt'], dest: '/multi' });
    t.is(await read(d, 'multi'), '2');
    await mkdir(join(d.dst, 'app'));
    await run(d, { sources: ['a.txt', 'b.txt'], dest: '/app' });
    t.deepEqual([await read(d, 'app/a.txt'), await read(d, 'app/b.txt')], ['1', '2']);
    await rm(join(d.dst, 'app'), { recursive: true });
    await run(d, { sources: ['*.txt'], dest: 'sub/', workdir: '/app' });
    t.deepEqual([await read(d, 'app/sub/a.txt'), await read(d, 'app/sub/b.txt')], ['1', '2']);
    t.false(existsSync(join(d.dst, 'app/sub/c.md')));
    await run(d, { sources: ['c.md'], dest: '.', workdir: '/app' });
    t.is(await read(d, 'app/c.md'), '3');
  });
});

test('a wildcard matching nothing copies nothing and makes no destination; other sources still copy', async (t) => {
  await withDirs({ 'a.txt': '1' }, async (d) => {
    await run(d, { sources: ['*.md'], dest: '/empty/' });
    t.false(existsSync(join(d.dst, 'empty')));
    await run(d, { sources: ['*.md', 'a.txt'], dest: '/some/' });
    t.is(await read(d, 'some/a.txt'), '1');
    await t.throwsAsync(run(d, { sources: ['nodir/*.md'], dest: '/x/' }), { instanceOf: SourceNotFoundError });
  });
});

test('--parents with ** keeps each match under its full path', async (t) => {
  await withDirs({ 'a/b/c/f.txt': '1', 'a/g.txt': '2', 'a/b/h.md': '3', 'a/b/x/./y.txt': '4' }, async (d) => {
    await run(d, { sources: ['a/**/*.txt'], dest: '/p/', parents: true });
    t.is(await read(d, 'p/a/b/c/f.txt'), '1');
    t.is(await read(d, 'p/a/g.txt'), '2');
    t.false(existsSync(join(d.dst, 'p/a/b/h.md')));
    await run(d, { sources: ['a/./**/y.txt'], dest: '/q/', parents: true });
    t.is(await read(d, 'q/b/x/y.txt'), '4');
  });
});

test('copying a directory over existing ones: dest keeps its metadata, directories below it take the source ones', async (t) => {
  await withDirs({ 'dir/sub/f': '1' }, async (d) => {
    await chmod(join(d.src, 'dir/sub'), 0o750);
    await put(d.dst, { 'out/sub/old': 'o' });
    await chmod(join(d.dst, 'out'), 0o700);
    await chmod(join(d.dst, 'out/sub'), 0o777);
    await chown(join(d.dst, 'out/sub'), 5, 5);
    await run(d, { sources: ['dir'], dest: '/out/', chown: { uid: 7, gid: 8 } });
    const top = await stat(join(d.dst, 'out'));
    t.deepEqual([top.mode & 0o7777, top.uid], [0o700, 0]);
    const sub = await stat(join(d.dst, 'out/sub'));
    t.deepEqual([sub.mode & 0o7777, sub.uid, sub.gid], [0o750, 7, 8]);
    t.is(await read(d, 'out/sub/old'), 'o');
  });
});

test('a directory copied to a missing dest: dest is made 0755 as root or --chown, not as a copy of the source directory (BuildKit testCopyChownExistingDir)', async (t) => {
  await withDirs({ 'dir/subdir/nested': 'n' }, async (d) => {
    await chown(join(d.src, 'dir'), 100, 200);
    await chmod(join(d.src, 'dir'), 0o700);
    await chown(join(d.src, 'dir/subdir'), 101, 201);
    await run(d, { sources: ['dir'], dest: '/dir' });
    const top = await stat(join(d.dst, 'dir'));
    t.deepEqual([top.mode & 0o7777, top.uid, top.gid], [0o755, 0, 0]);
    const sub = await stat(join(d.dst, 'dir/subdir'));
    t.deepEqual([sub.uid, sub.gid], [101, 201], 'what is inside keeps its owner');
    await run(d, { sources: ['dir'], dest: '/chowned', chown: { uid: 300, gid: 400 } });
    const chowned = await stat(join(d.dst, 'chowned'));
    t.deepEqual([chowned.mode & 0o7777, chowned.uid, chowned.gid], [0o755, 300, 400]);
  });
});

test('a missing source fails with the not-found error and writes nothing', async (t) => {
  await withDirs({ 'a.txt': '1' }, async (d) => {
    await t.throwsAsync(run(d, { sources: ['a.txt', 'missing'], dest: '/o/' }), { instanceOf: SourceNotFoundError });
    t.false(existsSync(join(d.dst, 'o')));
  });
});

test('from the context files become 0:0; from another tree ownership is kept; --chown sets files and created parents', async (t) => {
  await withDirs({ 'f': 'x', 'd/g': 'y' }, async (d) => {
    await chown(join(d.src, 'f'), 1234, 5678);
    const store = await openStore(join(d.base, 'state'));
    const ctx = await openContext(d.src, { store });
    try {
      // As in a build: the copy's key first, and a context copy checks it copied what was hashed.
      await ctx.checksum(['f']);
      await copy({ sourceRoot: d.src, context: ctx, sources: ['f'], dest: '/ctx/', destRoot: d.dst, workdir: '/' });
    } finally {
      ctx.close();
      store.close();
    }
    const c = await stat(join(d.dst, 'ctx/f'));
    t.deepEqual([c.uid, c.gid], [0, 0]);
    await run(d, { sources: ['f'], dest: '/stage/' });
    const s = await stat(join(d.dst, 'stage/f'));
    t.deepEqual([s.uid, s.gid], [1234, 5678]);
    await run(d, { sources: ['d'], dest: '/new/deep/', chown: { uid: 42, gid: 43 } });
    for (const p of ['new', 'new/deep', 'new/deep/g']) {
      const st = await stat(join(d.dst, p));
      t.deepEqual([st.uid, st.gid], [42, 43], p);
    }
  });
});

test('--chmod octal and symbolic apply to copied files and directories', async (t) => {
  await withDirs({ 'd/f': 'x', 'd/s/g': 'y' }, async (d) => {
    await chmod(join(d.src, 'd/f'), 0o640);
    await run(d, { sources: ['d'], dest: '/oct/', chmod: '0700' });
    t.is((await stat(join(d.dst, 'oct/f'))).mode & 0o7777, 0o700);
    t.is((await stat(join(d.dst, 'oct/s'))).mode & 0o7777, 0o700);
    await run(d, { sources: ['d'], dest: '/sym/', chmod: 'go=rX' });
    t.is((await stat(join(d.dst, 'sym/f'))).mode & 0o7777, 0o644);
    t.is((await stat(join(d.dst, 'sym/s'))).mode & 0o7777, 0o755);
    // As in GNU chmod, X sees the execute bits earlier clauses set.
    await run(d, { sources: ['d'], dest: '/sym2/', chmod: 'u+x,go=rX' });
    t.is((await stat(join(d.dst, 'sym2/f'))).mode & 0o7777, 0o755);
  });
});

test('parseChmod: symbolic forms as chmod(1) with no umask; bad values are errors', (t) => {
  t.is(parseChmod('755')(0o644, false), 0o755);
  t.is(parseChmod('a=r')(0o755, false), 0o444);
  t.is(parseChmod('+x')(0o644, false), 0o755);
  t.is(parseChmod('o-rwx,g+w')(0o755, false), 0o770);
  t.is(parseChmod('a+X')(0o644, false), 0o644);
  t.is(parseChmod('a+X')(0o744, false), 0o755);
  t.is(parseChmod('u+s')(0o755, false), 0o4755);
  t.is(parseChmod('+t')(0o777, true), 0o1777);
  t.throws(() => parseChmod('u+q'), { instanceOf: FileOpError });
  t.throws(() => parseChmod('999'), { instanceOf: FileOpError });
});

test('parseChmod: a class letter after the operator copies that class\'s current bits, as chmod(1) (go=u-w)', (t) => {
  t.is(parseChmod('go=u-w')(0o754, false), 0o755 & ~0o022);
  t.is(parseChmod('g+u')(0o640, false), 0o660);
  t.is(parseChmod('o=g,u-x')(0o751, false), 0o655);
  t.throws(() => parseChmod('g=uo'), { instanceOf: FileOpError });
});

test('parseChmod: octal as BuildKit parses it (ParseUint base 8, at most 07777): leading zeros are fine', (t) => {
  t.is(parseChmod('00640')(0o755, false), 0o640);
  t.is(parseChmod('0000755')(0o644, true), 0o755);
  t.throws(() => parseChmod('10000'), { instanceOf: FileOpError });
});

test('a dest that is a symlink to a file is followed, as fsutil resolves the destination: the file it names is written, the link stays', async (t) => {
  await withDirs({ 'f': 'new' }, async (d) => {
    await put(d.dst, { 'target': 'old' });
    await symlink('/target', join(d.dst, 'lnk'));
    await symlink('/missing/file', join(d.dst, 'dangling'));
    await run(d, { sources: ['f'], dest: '/lnk' });
    await run(d, { sources: ['f'], dest: '/dangling' });
    t.is(await readlink(join(d.dst, 'lnk')), '/target');
    t.is(await read(d, 'target'), 'new');
    t.is(await readlink(join(d.dst, 'dangling')), '/missing/file');
    t.is(await read(d, 'missing/file'), 'new');
  });
});

test('hard links are kept within one source, not between sources (BuildKit copies each source, each wildcard match, with a copier of its own)', async (t) => {
  await withDirs({ 'd/h1': 'H' }, async (d) => {
    await link(join(d.src, 'd/h1'), join(d.src, 'd/h2'));
    await link(join(d.src, 'd/h1'), join(d.src, 'top'));
    await run(d, { sources: ['d/h1', 'd/h2', 'top'], dest: '/sep/' });
    await run(d, { sources: ['d/h*'], dest: '/glob/' });
    await run(d, { sources: ['d'], dest: '/dir/' });
    const ino = async (p: string) => (await stat(join(d.dst, p))).ino;
    t.not(await ino('sep/h1'), await ino('sep/h2'));
    t.not(await ino('sep/h1'), await ino('sep/top'));
    t.not(await ino('glob/h1'), await ino('glob/h2'));
    t.is(await ino('dir/h1'), await ino('dir/h2'));
  });
});

test('symlinks are copied as symlinks, hard links stay linked, mtimes are kept', async (t) => {
  await withDirs({ 'd/target': 'T', 'd/h1': 'H' }, async (d) => {
    await symlink('/etc/shadow', join(d.src, 'd/abs'));
    await symlink('target', join(d.src, 'd/rel'));
    await link(join(d.src, 'd/h1'), join(d.src, 'd/h2'));
    const when = new Date('2020-05-05T05:05:05Z');
    await utimes(join(d.src, 'd/target'), when, when);
    await run(d, { sources: ['d'], dest: '/o/' });
    t.is(await readlink(join(d.dst, 'o/abs')), '/etc/shadow');
    t.is(await readlink(join(d.dst, 'o/rel')), 'target');
    const [h1, h2] = [await stat(join(d.dst, 'o/h1')), await stat(join(d.dst, 'o/h2'))];
    t.is(h1.ino, h2.ino);
    t.is((await stat(join(d.dst, 'o/target'))).mtime.getTime(), when.getTime());
  });
});

test('writes never leave destRoot through symlinks already in it', async (t) => {
  await withDirs({ 'f': 'payload', 'd/passwd': 'pwned' }, async (d) => {
    const outside = join(d.base, 'outside');
    await mkdir(outside);
    await symlink(outside, join(d.dst, 'escape'));
    await symlink('../../../../..' + outside, join(d.dst, 'up'));
    await run(d, { sources: ['f'], dest: '/escape/' });
    await run(d, { sources: ['f'], dest: '/up/x' });
    t.is(await read(d, `${outside.slice(1)}/f`), 'payload', 'the absolute link resolved inside the root');
    t.false(existsSync(join(outside, 'f')));
    t.false(existsSync(join(outside, 'x')));
    await mkdir(join(d.dst, 'etcdir'));
    await symlink(outside, join(d.dst, 'etcdir/d'));
    await t.throwsAsync(run(d, { sources: ['.'], dest: '/etcdir/' }), { instanceOf: FileOpError, message: /non-directory/ });
    t.false(existsSync(join(outside, 'passwd')));
  });
});

test('replacing a hard-linked file in dest does not change its other name', async (t) => {
  await withDirs({ 'f': 'new' }, async (d) => {
    await put(d.dst, { 'a/f': 'old' });
    await link(join(d.dst, 'a/f'), join(d.dst, 'other'));
    await run(d, { sources: ['f'], dest: '/a/f' });
    t.is(await read(d, 'a/f'), 'new');
    t.is(await read(d, 'other'), 'old');
  });
});

test('--parents keeps the source path, with /./ as the pivot', async (t) => {
  await withDirs({ 'x/y/a.txt': '1', 'x/z/b.txt': '2', 'p/q/c': '3' }, async (d) => {
    await run(d, { sources: ['x/*/*.txt'], dest: '/out/', parents: true });
    t.is(await read(d, 'out/x/y/a.txt'), '1');
    t.is(await read(d, 'out/x/z/b.txt'), '2');
    await run(d, { sources: ['./p/./q/c'], dest: '/piv/', parents: true });
    t.is(await read(d, 'piv/q/c'), '3');
  });
});

test('--parents: the kept directories are copies of the source ones; existing ones take their mode', async (t) => {
  await withDirs({ 'x/y/a.txt': '1' }, async (d) => {
    await chmod(join(d.src, 'x'), 0o700);
    await chmod(join(d.src, 'x/y'), 0o750);
    await put(d.dst, { 'out/x/keep': 'k' });
    await chmod(join(d.dst, 'out/x'), 0o777);
    await run(d, { sources: ['x/y/a.txt'], dest: '/out/', parents: true, chown: { uid: 3, gid: 4 } });
    const x = await stat(join(d.dst, 'out/x'));
    t.deepEqual([x.mode & 0o7777, x.uid], [0o700, 0], 'existing: the source mode, its own owner');
    const y = await stat(join(d.dst, 'out/x/y'));
    t.deepEqual([y.mode & 0o7777, y.uid, y.gid], [0o750, 3, 4], 'made: the source mode and --chown');
    t.is(await read(d, 'out/x/y/a.txt'), '1');
  });
});

test('--exclude skips matching paths inside directory sources and matching file sources', async (t) => {
  await withDirs({ 'd/a.txt': '1', 'd/b.go': '2', 'home.txt': '3', 'homer.go': '4' }, async (d) => {
    await run(d, { sources: ['d', 'hom*'], dest: '/o/', exclude: ['*.txt'] });
    t.true(existsSync(join(d.dst, 'o/b.go')));
    t.true(existsSync(join(d.dst, 'o/homer.go')));
    t.false(existsSync(join(d.dst, 'o/a.txt')));
    t.false(existsSync(join(d.dst, 'o/home.txt')));
  });
});

test('heredoc sources become 0644 root-owned files', async (t) => {
  await withDirs({}, async (d) => {
    await copyInline([{ path: 'EOF', data: 'hello\n' }], { dest: '/etc/motd', destRoot: d.dst, workdir: '/' });
    t.is(await read(d, 'etc/motd'), 'hello\n');
    const st = await stat(join(d.dst, 'etc/motd'));
    t.is(st.mode & 0o7777, 0o644);
    t.deepEqual([st.uid, st.gid], [0, 0]);
  });
});

test('WORKDIR mkdir creates missing parents with the owner, through symlinks inside the root', async (t) => {
  await withDirs({}, async (d) => {
    await mkdir(join(d.dst, 'real'));
    await symlink('/real', join(d.dst, 'app'));
    await workdirMkdir(d.dst, '/app/a/b', { uid: 7, gid: 8 });
    const st = await lstat(join(d.dst, 'real/a/b'));
    t.true(st.isDirectory());
    t.deepEqual([st.uid, st.gid, st.mode & 0o7777], [7, 8, 0o755]);
  });
});

test('resolveChown: names through the rootfs passwd/group, numeric uid alone doubles as gid, unknown names as BuildKit readUser', async (t) => {
  await withDirs({}, async (d) => {
    await put(d.dst, { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n', 'etc/group': 'root:x:0:\nstaff:x:50:\n' });
    t.deepEqual(await resolveChown(accountsIn(d.dst), 'app'), { uid: 1000, gid: 1001 });
    t.deepEqual(await resolveChown(accountsIn(d.dst), 'app:staff'), { uid: 1000, gid: 50 });
    t.deepEqual(await resolveChown(accountsIn(d.dst), '33'), { uid: 33, gid: 33 });
    t.deepEqual(await resolveChown(accountsIn(d.dst), '33:44'), { uid: 33, gid: 44 });
    t.deepEqual(await resolveChown(accountsIn(d.dst), 'root:staff'), { uid: 0, gid: 50 });
    // Not found is no error in BuildKit: a user falls back to 0:0, a group keeps the gid.
    t.deepEqual(await resolveChown(accountsIn(d.dst), 'ghost'), { uid: 0, gid: 0 });
    t.deepEqual(await resolveChown(accountsIn(d.dst), 'app:ghosts'), { uid: 1000, gid: 1001 });
    t.deepEqual(await resolveChown(accountsIn(d.dst), 'ghost:staff'), { uid: 0, gid: 50 });
    // The group is all after the first colon, as Go's SplitN: "2:3" names no group, so the gid stays 1.
    t.deepEqual(await resolveChown(accountsIn(d.dst), '1:2:3'), { uid: 1, gid: 1 });
  });
  t.throws(() => checkLinkChown('app'), { message: /cannot name a user or group with --link/ });
  t.throws(() => checkLinkChown('1:staff'), { message: /cannot name a user or group with --link/ });
  t.notThrows(() => checkLinkChown('1000:1000'));
  t.notThrows(() => checkLinkChown('root'));
});

test('extended attributes such as file capabilities survive the copy, even with --chown', async (t) => {
  await withDirs({ 'bin/ping': 'elf' }, async (d) => {
    // cap_net_raw+ep in the VFS_CAP_REVISION_2 layout.
    const cap = Buffer.from('0000000200200000000000000000000000000000', 'hex');
    await setAttribute(join(d.src, 'bin/ping'), 'security.capability', cap);
    await setAttribute(join(d.src, 'bin/ping'), 'user.note', 'kept');
    await run(d, { sources: ['bin'], dest: '/usr/bin/', chown: { uid: 5, gid: 5 } });
    t.deepEqual(await getAttribute(join(d.dst, 'usr/bin/ping'), 'security.capability'), cap);
    t.is((await getAttribute(join(d.dst, 'usr/bin/ping'), 'user.note')).toString(), 'kept');
  });
});

test('modes survive the copy, set-id bits included when --chown changes the owner', async (t) => {
  await withDirs({ 'suid': 'x', 'plain': 'y' }, async (d) => {
    await chmod(join(d.src, 'suid'), 0o4755);
    await chmod(join(d.src, 'plain'), 0o640);
    await run(d, { sources: ['suid', 'plain'], dest: '/kept/' });
    await run(d, { sources: ['suid', 'plain'], dest: '/owned/', chown: { uid: 1000, gid: 1000 } });
    for (const dir of ['kept', 'owned']) {
      t.is((await stat(join(d.dst, dir, 'suid'))).mode & 0o7777, 0o4755, dir);
      t.is((await stat(join(d.dst, dir, 'plain'))).mode & 0o7777, 0o640, dir);
    }
    t.is((await stat(join(d.dst, 'owned', 'suid'))).uid, 1000);
  });
});

test('with SOURCE_DATE_EPOCH, directories made for the destination or given new entries, and heredoc files, get it; copied and untouched directories keep their times', async (t) => {
  await withDirs({ 'tree/sub/f': 'F', 'b.txt': 'B' }, async (d) => {
    await utimes(join(d.src, 'tree/sub'), 1000, 1000);
    for (const dir of ['existing', 'untouched']) {
      await mkdir(join(d.dst, dir));
      await utimes(join(d.dst, dir), 2000, 2000);
    }
    const epoch = 500;
    await run(d, { sources: ['b.txt'], dest: '/made/deeper/b.txt', createdTime: epoch });
    await run(d, { sources: ['tree'], dest: '/existing/tree/', createdTime: epoch });
    await copyInline([{ path: 'h.txt', data: 'heredoc\n' }], { dest: '/inline/', destRoot: d.dst, workdir: '/', createdTime: epoch });
    await workdirMkdir(d.dst, '/work/dir', undefined, epoch);
    for (const p of ['made', 'made/deeper', 'existing', 'existing/tree', 'inline', 'inline/h.txt', 'work', 'work/dir']) t.is((await stat(join(d.dst, p))).mtimeMs, epoch * 1000, p);
    t.is((await stat(join(d.dst, 'existing/tree/sub'))).mtimeMs, 1000 * 1000, 'a copied directory keeps its source time');
    t.is((await stat(join(d.dst, 'untouched'))).mtimeMs, 2000 * 1000, 'a directory the copy did not write into keeps its time');
  });
});

test('without SOURCE_DATE_EPOCH, directories made for the destination get the time of the copy', async (t) => {
  await withDirs({ 'b.txt': 'B' }, async (d) => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    await run(d, { sources: ['b.txt'], dest: '/made/b.txt' });
    t.true((await stat(join(d.dst, 'made'))).mtimeMs >= before);
  });
});
