import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freshRoot, freshRootAndContext, kiln, rootfsOf } from './build-helpers.js';

const DOCKERFILE = `FROM busybox
WORKDIR /w
COPY --chown=nobody:nogroup --chmod=0750 dir/ sub/
COPY a.txt b.txt /multi/
COPY *.md /globbed/
COPY --parents ./x/./y/deep.txt /par/
COPY --exclude=*.log logs/ /logs/
ADD arch.tar.gz /ext/
COPY . /all/
COPY <<EOF /here.txt
inline
EOF
`;

const FILES: Record<string, string> = {
  'Dockerfile': DOCKERFILE,
  '.dockerignore': 'ignored.txt\n',
  'dir/one': '1',
  'dir/nested/two': '2',
  'a.txt': 'A',
  'b.txt': 'B',
  'r1.md': 'R1',
  'r2.md': 'R2',
  'x/y/deep.txt': 'D',
  'logs/keep.txt': 'K',
  'logs/drop.log': 'L',
  'ignored.txt': 'secret',
};

test('kiln build gives COPY and ADD their BuildKit meaning in the image', async (t) => {
  const { root, cleanup } = await freshRoot();
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-copy-ctx-'));
  const archiveTree = await mkdtemp(join(tmpdir(), 'kiln-copy-arch-'));
  try {
    for (const [rel, data] of Object.entries(FILES)) {
      await mkdir(dirname(join(ctx, rel)), { recursive: true });
      await writeFile(join(ctx, rel), data);
    }
    await symlink('one', join(ctx, 'dir/link'));
    await mkdir(join(archiveTree, 'pkg'));
    await writeFile(join(archiveTree, 'pkg/file'), 'from tar');
    execFileSync('tar', ['-C', archiveTree, '-czf', join(ctx, 'arch.tar.gz'), 'pkg']);

    const r = await kiln(root, ['build', '--progress', 'plain', '-t', 'copytest', ctx]);
    t.is(r.code, 0, r.stderr);
    const fs = await rootfsOf(root, 'copytest');
    const read = (p: string) => readFile(join(fs, p), 'utf8');
    const meta = async (p: string) => {
      const st = await lstat(join(fs, p));
      return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
    };

    t.is(await read('w/sub/one'), '1', 'dir source copies contents, dest relative to WORKDIR');
    t.is(await read('w/sub/nested/two'), '2');
    t.false(existsSync(join(fs, 'w/sub/dir')));
    t.is(await meta('w/sub/one'), '65534:65534 750');
    t.is(await meta('w/sub/nested'), '65534:65534 750');
    t.is(await readlink(join(fs, 'w/sub/link')), 'one', 'symlinks stay symlinks');
    t.deepEqual([await read('multi/a.txt'), await read('multi/b.txt')], ['A', 'B']);
    t.is(await meta('multi/a.txt'), '0:0 644');
    t.deepEqual([await read('globbed/r1.md'), await read('globbed/r2.md')], ['R1', 'R2']);
    t.is(await read('par/y/deep.txt'), 'D');
    t.true(existsSync(join(fs, 'logs/keep.txt')));
    t.false(existsSync(join(fs, 'logs/drop.log')));
    t.is(await read('ext/pkg/file'), 'from tar');
    t.false(existsSync(join(fs, 'ext/arch.tar.gz')));
    t.true(existsSync(join(fs, 'all/a.txt')));
    t.false(existsSync(join(fs, 'all/ignored.txt')), '.dockerignore applies');
    t.is(await read('here.txt'), 'inline\n');
  } finally {
    await cleanup();
    await rm(ctx, { recursive: true, force: true });
    await rm(archiveTree, { recursive: true, force: true });
  }
});

test('with SOURCE_DATE_EPOCH, a --no-cache rebuild later gives the same image: directories COPY and WORKDIR make and heredoc files get the epoch', async (t) => {
  const { root, cleanup } = await freshRoot();
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-copy-epoch-'));
  try {
    await writeFile(join(ctx, 'a.txt'), 'A');
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nWORKDIR /made/by/workdir\nCOPY a.txt /made/by/copy/a.txt\nCOPY <<EOF /heredoc/h.txt\ninline\nEOF\n');
    const digest = async (flags: string[]) => {
      const meta = join(ctx, 'meta.json');
      const r = await kiln(root, ['build', '--progress', 'plain', '--metadata-file', meta, ...flags, ctx], undefined, { SOURCE_DATE_EPOCH: '1700000000' });
      t.is(r.code, 0, r.stderr);
      return (JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>)['containerimage.digest'];
    };
    const first = await digest(['-t', 'epoch']);
    // Whole seconds are what a tar header keeps: the rebuild must land in a later one.
    await new Promise((r) => setTimeout(r, 1100));
    t.is(await digest(['--no-cache']), first);
    const fs = await rootfsOf(root, 'epoch');
    for (const p of ['made', 'made/by', 'made/by/workdir', 'made/by/copy', 'heredoc', 'heredoc/h.txt']) t.is((await lstat(join(fs, p))).mtimeMs, 1700000000 * 1000, p);
  } finally {
    await rm(ctx, { recursive: true, force: true });
    await cleanup();
  }
});

test('--exclude in stages that copy from one context at once, the first build of that context: each gets its selection (BuildKit #4439)', async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-copy-exclude-');
  const files: Record<string, string> = {
    'dir1/file-101.png': '2',
    'dir1/file-102.txt': '3',
    'dir1/file-103.jpeg': '4',
    'dir2/file-201.pdf': '6',
    'dir2/file-202.jpeg': '7',
    'dir2/file-203.png': '8',
    'dir3/file-301.mp3': '9',
    'dir3/file-302.mpeg': '10',
  };
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(dirname(join(ctx, rel)), { recursive: true });
    await writeFile(join(ctx, rel), data);
  }
  const dockerfile = join(ctx, '..', `${ctx.split('/').pop()}.Dockerfile`);
  t.teardown(() => rm(dockerfile, { force: true }));
  await writeFile(
    dockerfile,
    `FROM scratch AS images
COPY --exclude=*/*.png --exclude=*/*.jpeg . /1
FROM scratch AS documents
COPY --exclude=*/*.pdf --exclude=*/*.txt . /2
FROM scratch AS mp3
ADD --exclude=*.mp3 dir3/ /3/
FROM scratch AS wildcard
COPY --exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/
FROM scratch AS addwildcard
ADD --exclude=*.mp* --exclude=*.jpeg --exclude=*.png --exclude=*.pdf dir* /5
FROM scratch AS everything
ADD --exclude=* dir* /6
FROM scratch
COPY --from=images / /
COPY --from=documents / /
COPY --from=mp3 / /
COPY --from=wildcard / /
COPY --from=addwildcard / /
COPY --from=everything / /
`,
  );
  const out = join(ctx, '..', `${ctx.split('/').pop()}.out`);
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const r = await kiln(root, ['build', '--progress', 'plain', '-f', dockerfile, '-o', `type=local,dest=${out}`, ctx]);
  t.is(r.code, 0, r.stderr);
  const found = execFileSync('find', ['.', '-type', 'f'], { cwd: out, encoding: 'utf8' }).trim().split('\n').sort();
  t.deepEqual(found, [
    './1/dir1/file-102.txt',
    './1/dir2/file-201.pdf',
    './1/dir3/file-301.mp3',
    './1/dir3/file-302.mpeg',
    './2/dir1/file-101.png',
    './2/dir1/file-103.jpeg',
    './2/dir2/file-202.jpeg',
    './2/dir2/file-203.png',
    './2/dir3/file-301.mp3',
    './2/dir3/file-302.mpeg',
    './3/file-302.mpeg',
    './4/file-302.mpeg',
    './5/file-102.txt',
  ]);
  t.is(await readFile(join(out, '2/dir3/file-302.mpeg'), 'utf8'), '10');
  t.deepEqual(execFileSync('ls', ['-A', join(out, '6')], { encoding: 'utf8' }), '');
});

test('--build-arg SOURCE_DATE_EPOCH sets the build time as the environment variable does, ARG SOURCE_DATE_EPOCH sees either, and a non-number is refused', async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-copy-epoch-arg-');
  // No RUN: the files a RUN writes keep the time they were written (BuildKit without rewrite-timestamp).
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nWORKDIR /mydir\nARG SOURCE_DATE_EPOCH\nENV SDE=$SOURCE_DATE_EPOCH\n');
  const meta = join(ctx, 'meta.json');
  const build = async (flags: string[], env: Record<string, string> = {}) => {
    const r = await kiln(root, ['build', '--progress', 'plain', '--no-cache', '--metadata-file', meta, ...flags, ctx], undefined, env);
    t.is(r.code, 0, r.stderr);
    return (JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>)['containerimage.digest'];
  };
  const first = await build(['-t', 'epoch-arg:1', '--build-arg', 'SOURCE_DATE_EPOCH=1673364896']);
  await new Promise((r) => setTimeout(r, 1100));
  t.is(await build(['--build-arg', 'SOURCE_DATE_EPOCH=1673364896']), first);
  t.is(await build([], { SOURCE_DATE_EPOCH: '1673364896' }), first);
  const fs = await rootfsOf(root, 'epoch-arg:1');
  t.is((await lstat(join(fs, 'mydir'))).mtimeMs, 1673364896 * 1000);
  const inspect = await kiln(root, ['inspect', 'epoch-arg:1']);
  t.regex(inspect.stdout, /"SDE=1673364896"/);
  t.regex(inspect.stdout, /"Created": "2023-01-10T15:34:56Z"/);
  const bad = await kiln(root, ['build', '--build-arg', 'SOURCE_DATE_EPOCH=yesterday', ctx]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^kiln: invalid SOURCE_DATE_EPOCH "yesterday": not a number of seconds since 1970\n/);
});

test("a global ARG SOURCE_DATE_EPOCH default sets the build's times as --build-arg does (BuildKit toDispatchState getBuildArgValue)", async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-copy-epoch-global-');
  await writeFile(join(ctx, 'Dockerfile'), 'ARG SOURCE_DATE_EPOCH=1673364896\nFROM busybox\nWORKDIR /mydir\nENV A=1\n');
  const r = await kiln(root, ['build', '--progress', 'plain', '-t', 'epoch-global:1', ctx]);
  t.is(r.code, 0, r.stderr);
  const inspect = await kiln(root, ['inspect', 'epoch-global:1']);
  t.regex(inspect.stdout, /"Created": "2023-01-10T15:34:56Z"/);
  const fs = await rootfsOf(root, 'epoch-global:1');
  t.is((await lstat(join(fs, 'mydir'))).mtimeMs, 1673364896 * 1000);
});
