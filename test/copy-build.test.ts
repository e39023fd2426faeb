import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freshRoot, kiln, rootfsOf } from './build-helpers.js';

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
