import test from 'ava';
import Database from 'better-sqlite3';
import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openStore, StatCache, type Store } from '../../cache/index.js';
import { compileMatcher, diffFiles, matchSegment, openContext, selectSources, SourceNotFoundError, type BuildContext } from './index.js';
import { parseIgnoreFile } from './ignore.js';

async function tree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), data);
  }
}

async function withContext(files: Record<string, string>, fn: (ctx: () => Promise<BuildContext>, dir: string, store: Store) => Promise<void>, dockerfilePath?: string): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'kiln-ctx-'));
  const dir = join(base, 'ctx');
  await mkdir(dir);
  await tree(dir, files);
  const store = await openStore(join(base, 'state'));
  const opened: BuildContext[] = [];
  const ctx = async () => {
    const c = await openContext(dir, dockerfilePath === undefined ? { store } : { store, dockerfilePath });
    opened.push(c);
    return c;
  };
  try {
    await fn(ctx, dir, store);
  } finally {
    for (const c of opened) c.close();
    store.close();
    await rm(base, { recursive: true, force: true });
  }
}

const keys = (m: Map<string, string>) => [...m.keys()].sort();

test('filepath.Match segments: *, ?, classes, escapes; ** is just *', (t) => {
  t.true(matchSegment('*.txt', 'a.txt'));
  t.false(matchSegment('*.txt', 'a.txt.bak'));
  t.true(matchSegment('?.md', 'x.md'));
  t.false(matchSegment('?.md', 'xy.md'));
  t.true(matchSegment('[a-c]1', 'b1'));
  t.false(matchSegment('[^a-c]1', 'b1'));
  t.true(matchSegment('[^a-c]1', 'z1'));
  t.true(matchSegment('\\*', '*'));
  t.false(matchSegment('\\*', 'a'));
  t.true(matchSegment('**', 'abc'));
});

test('a directory source selects its whole tree; globs select per path segment', async (t) => {
  await withContext({ 'a.txt': '1', 'b.txt': '2', 'c.md': '3', 'src/x/keep': '4', 'src/y/keep': '5', 'src/y/other': '6' }, async (ctx) => {
    const c = await ctx();
    t.deepEqual(keys((await c.checksum(['*.txt'])).files), ['a.txt', 'b.txt']);
    t.deepEqual(keys((await c.checksum(['src/*/keep'])).files), ['src/x/keep', 'src/y/keep']);
    t.deepEqual(keys((await c.checksum(['src'])).files), ['src', 'src/x', 'src/x/keep', 'src/y', 'src/y/keep', 'src/y/other']);
    t.deepEqual(keys((await c.checksum(['/src/../c.md'])).files), ['c.md']);
  });
});

test('.dockerignore hides files from selection and from the digest, with ! exceptions', async (t) => {
  await withContext({ '.dockerignore': '*.log\n!keep.log\nsecret/\n# comment\n', 'a.log': 'x', 'keep.log': 'y', 'app.js': 'z', 'secret/key': 'k' }, async (ctx, dir) => {
    const c = await ctx();
    const all = await c.checksum(['.']);
    t.deepEqual(keys(all.files), ['.', '.dockerignore', 'app.js', 'keep.log']);
    await writeFile(join(dir, 'a.log'), 'changed');
    await writeFile(join(dir, 'secret/key'), 'changed');
    t.is((await (await ctx()).checksum(['.'])).digest, all.digest);
    const err = await t.throwsAsync(c.checksum(['secret/key']), { instanceOf: SourceNotFoundError });
    t.regex(err!.hint ?? '', /excluded by .dockerignore/);
  });
});

test('.dockerignore matches as moby/patternmatcher: case-sensitive, regexp characters literal, wildcard exceptions reach into excluded directories', async (t) => {
  const files = { 'README.md': '1', 'readme.md': '2', 'a+b': '3', aab: '4', '(x)': '5', x: '6', 'c++': '7', 'dir/keep.txt': '8', 'dir/other': '9' };
  await withContext({ ...files, '.dockerignore': 'README.md\na+b\n(x)\nc++\ndir\n!**/keep.txt\n' }, async (ctx) => {
    const c = await ctx();
    t.deepEqual(keys((await c.checksum(['.'])).files), ['.', '.dockerignore', 'aab', 'dir', 'dir/keep.txt', 'readme.md', 'x']);
  });
});

test('an ignored directory an exception makes kiln walk is in the context only when something inside is re-included (fsutil)', async (t) => {
  await withContext({ 'dir/other': '1', 'deep/a/b/other': '2', 'deep/a/b/keep.txt': '3', '.dockerignore': 'dir\n!dir/keep.txt\ndeep\n!**/keep.txt\n' }, async (ctx) => {
    const c = await ctx();
    t.deepEqual(keys((await c.checksum(['.'])).files), ['.', '.dockerignore', 'deep', 'deep/a', 'deep/a/b', 'deep/a/b/keep.txt']);
  });
});

test('.dockerignore lines as ignorefile.ReadAll: a BOM dropped, # only in column 1, ! and the path trimmed apart, cleaned, leading / dropped', (t) => {
  t.deepEqual(parseIgnoreFile('\uFEFFa\n# c\n  #b  \n!  keep \n/x/../y/\n\n'), ['a', '#b', '!keep', 'y']);
  t.throws(() => compileMatcher(['x[']), { message: /syntax error in pattern/ });
});

test('a wildcard does not descend through a symlink to a directory (fsutil walks past the literal prefix); the prefix itself may be one', async (t) => {
  await withContext({ 'real/top.go': '1' }, async (ctx, dir) => {
    await mkdir(join(dir, 'ld'));
    await symlink('../real', join(dir, 'ld/lnk'));
    const c = await ctx();
    t.deepEqual(keys((await c.checksum(['ld/l*/top.go'])).files), []);
    t.deepEqual(keys((await c.checksum(['ld/lnk/*.go'])).files), ['real/top.go']);
  });
});

test('a lone ! in .dockerignore is an error, as moby\'s pattern matcher has it (BuildKit testDockerignoreInvalid)', async (t) => {
  await withContext({ '.dockerignore': 'a.txt\n!\n', 'a.txt': 'a' }, async (ctx) => {
    await t.throwsAsync(ctx(), { code: 'E_CONTEXT_IGNORE', message: '.dockerignore: illegal exclusion pattern: "!"' });
  });
});

test('<Dockerfile>.dockerignore beside a named Dockerfile wins over the context .dockerignore', async (t) => {
  await withContext(
    { '.dockerignore': 'a\n', 'build/app.Dockerfile': 'FROM scratch\n', 'build/app.Dockerfile.dockerignore': 'b\n', a: '1', b: '2' },
    async (ctx) => {
      const c = await ctx();
      t.truthy(c.ignoreFile?.endsWith('app.Dockerfile.dockerignore'));
      t.deepEqual(keys((await c.checksum(['a', '*'])).files).filter((k) => k.length === 1), ['a']);
      await t.throwsAsync(c.checksum(['b']), { instanceOf: SourceNotFoundError });
    },
    'build/app.Dockerfile',
  );
});

test('the digest covers content, mode and symlink targets but not mtimes', async (t) => {
  await withContext({ 'd/f': 'data', 'd/g': 'more' }, async (ctx, dir) => {
    await symlink('f', join(dir, 'd/l'));
    const d0 = (await (await ctx()).checksum(['d'])).digest;
    const later = new Date(Date.now() + 10_000);
    await utimes(join(dir, 'd/f'), later, later);
    t.is((await (await ctx()).checksum(['d'])).digest, d0, 'mtime does not matter');
    await chmod(join(dir, 'd/f'), 0o755);
    const d1 = (await (await ctx()).checksum(['d'])).digest;
    t.not(d1, d0, 'mode matters');
    await rm(join(dir, 'd/l'));
    await symlink('g', join(dir, 'd/l'));
    const d2 = (await (await ctx()).checksum(['d'])).digest;
    t.not(d2, d1, 'symlink target matters');
    await writeFile(join(dir, 'd/g'), 'MORE');
    t.not((await (await ctx()).checksum(['d'])).digest, d2, 'content matters');
  });
});

test('--exclude removes paths relative to each source from selection and digest', async (t) => {
  await withContext({ 'app/a.txt': '1', 'app/b.go': '2', 'app/sub/c.txt': '3', 'top.txt': '4' }, async (ctx, dir) => {
    const c = await ctx();
    const r = await c.checksum(['app', 'top.txt'], { exclude: ['*.txt'] });
    t.deepEqual(keys(r.files), ['app', 'app/b.go', 'app/sub', 'app/sub/c.txt']);
    await writeFile(join(dir, 'app/a.txt'), 'changed');
    t.is((await (await ctx()).checksum(['app', 'top.txt'], { exclude: ['*.txt'] })).digest, r.digest);
  });
});

test('a missing source is an error naming the path; a glob matching nothing selects nothing unless its directory is missing', async (t) => {
  await withContext({ 'a.txt': '1', 'sub/b.txt': '2' }, async (ctx) => {
    const c = await ctx();
    const e1 = await t.throwsAsync(c.checksum(['nope.txt']), { instanceOf: SourceNotFoundError });
    t.is(e1!.message, 'failed to compute cache key: "/nope.txt": not found');
    t.is(e1!.code, 'E_COPY_SOURCE_NOT_FOUND');
    // BuildKit: AllowEmptyWildcard, and an empty digest for a wildcard that includes nothing.
    t.deepEqual([...(await c.checksum(['*.md'])).files.keys()], []);
    t.deepEqual([...(await c.checksum(['sub/*.md', 'a.txt'])).files.keys()], ['a.txt']);
    await t.throwsAsync(c.checksum(['nodir/*.md']), { instanceOf: SourceNotFoundError });
  });
});

test('--parents: ** spans directories, as in BuildKit include patterns; without --parents it is just *', async (t) => {
  await withContext({ 'a/b/c/f.txt': '1', 'a/g.txt': '2', 'a/b/h.md': '3' }, async (ctx) => {
    const c = await ctx();
    t.deepEqual(keys((await c.checksum(['a/**/*.txt'], { parents: true })).files), ['a/b/c/f.txt', 'a/g.txt']);
    t.deepEqual(keys((await c.checksum(['a/**/*.txt'])).files), []);
  });
});

test('--parents: a wildcard before the ./ pivot keeps what follows the segments it matched, whatever their length', async (t) => {
  await withContext({ 'src/longname/x/f': '1', 'src/q/x/g': '2' }, async (ctx) => {
    const c = await ctx();
    const kept = selectSources(c.view, ['src/*/./x'], { parents: true }).map((m) => `${m.given} -> ${m.kept}`);
    t.deepEqual(kept.sort(), ['src/longname/x -> x', 'src/q/x -> x']);
    const deep = selectSources(c.view, ['src/**/./x/f'], { parents: true }).map((m) => m.kept);
    t.deepEqual(deep, ['x/f']);
  });
});

test('a source symlink is followed inside the context, never out of it', async (t) => {
  await withContext({ 'etc/passwd': 'inside' }, async (ctx, dir) => {
    await symlink('/etc/passwd', join(dir, 'abs'));
    await symlink('../../../../etc', join(dir, 'up'));
    const c = await ctx();
    t.deepEqual(keys((await c.checksum(['abs'])).files), ['etc/passwd']);
    t.deepEqual(keys((await c.checksum(['up/passwd'])).files), ['etc/passwd']);
  });
});

test('diffFiles names changed, added and removed paths', (t) => {
  const before = new Map([['a', '1'], ['b', '2'], ['c', '3']]);
  const after = new Map([['a', '1'], ['b', 'X'], ['d', '4']]);
  t.deepEqual(diffFiles(before, after), { changed: ['b'], added: ['d'], removed: ['c'] });
});

test('files added, removed or renamed in a directory whose listing is cached are seen, also within the same second', async (t) => {
  await withContext({ 'd/a': '1', 'd/sub/b': '2' }, async (ctx, dir, store) => {
    const old = new Date(Date.now() - 3600_000);
    const age = async () => {
      for (const p of ['d', 'd/sub']) await utimes(join(dir, p), old, old);
    };
    await age();
    // Past the racy window of the directories' ctimes, so their listings are recorded as trusted.
    await new Promise((r) => setTimeout(r, 100));
    // Each a build's checksum, whose records the build saves (saveStats) once its steps are done.
    const build = async () => {
      const c = await ctx();
      const sum = await c.checksum(['d']);
      c.saveStats();
      return sum;
    };
    const c = await ctx();
    const first = await c.checksum(['d']);
    c.saveStats();
    const cache = StatCache.open(store);
    t.deepEqual([...cache.load(c.root).dirs.keys()].sort(), ['d', 'd/sub'], 'listings are recorded');
    cache.close();
    t.deepEqual(keys((await c.checksum(['d'])).files), keys(first.files), 'a second checksum from the cached listing selects the same');
    await writeFile(join(dir, 'd/sub/new'), '3');
    await age(); // mtime set back: only ctime can tell
    t.deepEqual(keys((await build()).files), ['d', 'd/a', 'd/sub', 'd/sub/b', 'd/sub/new']);
    await rm(join(dir, 'd/a'));
    t.deepEqual(keys((await build()).files), ['d', 'd/sub', 'd/sub/b', 'd/sub/new']);
    const { rename } = await import('node:fs/promises');
    await rename(join(dir, 'd/sub/b'), join(dir, 'd/sub/c'));
    const renamed = await build();
    t.deepEqual(keys(renamed.files), ['d', 'd/sub', 'd/sub/c', 'd/sub/new']);
    t.not(renamed.digest, first.digest);
  });
});

test('stat cache entries of deleted files are dropped when their directory is hashed again', async (t) => {
  await withContext({ 'd/a': '1', 'd/b': '2' }, async (ctx, dir, store) => {
    // Each a build's checksum, whose records the build saves (saveStats) once its steps are done.
    const build = async () => {
      const c = await ctx();
      await c.checksum(['d']);
      c.saveStats();
    };
    await build();
    await rm(join(dir, 'd/b'));
    await build();
    const cache = StatCache.open(store);
    try {
      const root = (await ctx()).root;
      t.deepEqual([...cache.load(root).files.keys()].sort(), ['d/a']);
    } finally {
      cache.close();
    }
  });
});

test('a checksum with --exclude keeps the records of the files it excluded, which another step may be hashing meanwhile', async (t) => {
  await withContext({ 'd1/a.png': '1', 'd1/b.txt': '2', 'd2/c.png': '3' }, async (ctx, _dir, store) => {
    const c = await ctx();
    // Two stages' COPYs of a context no build has listed yet: the first walk lists its directories.
    const [some, all] = await Promise.all([c.checksum(['.'], { exclude: ['*/*.png'] }), c.checksum(['.'])]);
    t.deepEqual(keys(some.files), ['.', 'd1', 'd1/b.txt', 'd2']);
    t.deepEqual(keys(all.files), ['.', 'd1', 'd1/a.png', 'd1/b.txt', 'd2', 'd2/c.png']);
    c.saveStats();
    const cache = StatCache.open(store);
    try {
      const saved = cache.load(c.root);
      t.deepEqual([...saved.files.keys()].sort(), ['d1/a.png', 'd1/b.txt', 'd2/c.png']);
      t.deepEqual([...saved.dirs.keys()].sort(), ['', 'd1', 'd2']);
    } finally {
      cache.close();
    }
  });
});

test('verifyCopied: a copy passes only with the bytes hashed; racy files are read back, settled ones re-stat only', async (t) => {
  await withContext({ 'f': 'hashed', 'copy-same': 'hashed', 'copy-other': 'other!' }, async (ctx, dir) => {
    const c = await ctx();
    // Racy (an mtime not older than the hash, as for a file written just before): its times
    // cannot vouch, and the copy's bytes decide.
    const future = new Date(Date.now() + 3_600_000);
    await utimes(join(dir, 'f'), future, future);
    await c.checksum(['f']);
    const e = c.view.stat('f')!;
    t.notThrows(() => c.verifyCopied(e, join(dir, 'copy-same')));
    const racy = t.throws(() => c.verifyCopied(e, join(dir, 'copy-other')));
    t.is((racy as { code?: string }).code, 'E_CONTEXT_CHANGED');
    t.regex(String(racy?.message), /file changed while being copied: f; retry the build/);
    // Settled (times far older than the hash): the re-stat vouches, the copy is not read.
    await writeFile(join(dir, 'g'), 'hashed');
    await new Promise((r) => setTimeout(r, 150));
    const c2 = await ctx();
    await c2.checksum(['g']);
    const g = c2.view.stat('g')!;
    t.notThrows(() => c2.verifyCopied(g, join(dir, 'no-such-copy')));
    // Rewritten after the hash: the stat moved.
    await writeFile(join(dir, 'g'), 'hashed');
    t.throws(() => c2.verifyCopied(g, join(dir, 'copy-same')), { message: /file changed while being copied: g/ });
    // Gone: changed too.
    await rm(join(dir, 'g'));
    t.throws(() => c2.verifyCopied(g, join(dir, 'copy-same')), { message: /file changed while being copied: g/ });
  });
});

test('a context opens the stat cache only once something is checksummed', async (t) => {
  await withContext({ 'a.txt': 'a' }, async (ctx, _dir, store) => {
    const tables = () => {
      const db = new Database(store.layout.dbPath, { readonly: true });
      try {
        return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'context_stats%'").all() as { name: string }[]).length;
      } finally {
        db.close();
      }
    };
    const idle = await ctx();
    idle.close();
    t.is(tables(), 0, 'a build that copies nothing from the context never opened it');
    const used = await ctx();
    await used.checksum(['a.txt']);
    t.true(tables() > 0);
  });
});
