import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { add, FileOpError, type AddOptions } from './index.js';

interface Dirs {
  base: string;
  src: string;
  dst: string;
}

async function withDirs(fn: (d: Dirs) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'kiln-add-test-'));
  const d = { base, src: join(base, 'src'), dst: join(base, 'dst') };
  await mkdir(d.src);
  await mkdir(d.dst);
  try {
    await fn(d);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

const run = (d: Dirs, o: Partial<AddOptions> & Pick<AddOptions, 'sources' | 'dest'>) => add({ sourceRoot: d.src, destRoot: d.dst, workdir: '/', ...o });

/** A tar made by the system tar of `files`, compressed by `compress` (a CLI filter) when given. */
async function makeTar(d: Dirs, name: string, files: Record<string, string>, compress?: string): Promise<void> {
  const tree = join(d.base, `tree-${name}`);
  await mkdir(tree);
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(join(tree, rel, '..'), { recursive: true });
    await writeFile(join(tree, rel), data);
  }
  const tar = execFileSync('tar', ['-C', tree, '-cf', '-', '.']);
  await writeFile(join(d.src, name), compress ? execFileSync(compress, ['-c'], { input: tar }) : tar);
}

for (const [label, compress] of [
  ['plain', undefined],
  ['gzip', 'gzip'],
  ['bzip2', 'bzip2'],
  ['xz', 'xz'],
  ['zstd', 'zstd'],
] as const) {
  test(`ADD extracts a ${label} tar archive at the destination`, async (t) => {
    await withDirs(async (d) => {
      await makeTar(d, 'a.tar', { 'top.txt': 'T', 'sub/inner.txt': 'I' }, compress);
      await run(d, { sources: ['a.tar'], dest: '/opt/app' });
      t.is(await readFile(join(d.dst, 'opt/app/top.txt'), 'utf8'), 'T');
      t.is(await readFile(join(d.dst, 'opt/app/sub/inner.txt'), 'utf8'), 'I');
      t.false(existsSync(join(d.dst, 'opt/app/a.tar')));
    });
  });
}

test('--chmod does not change what an archive extracts (BuildKit unpacks with --chown only)', async (t) => {
  await withDirs(async (d) => {
    await makeTar(d, 'a.tar', { 'top.txt': 'T', 'sub/inner.txt': 'I' });
    await writeFile(join(d.src, 'plain.txt'), 'p');
    await run(d, { sources: ['a.tar', 'plain.txt'], dest: '/x/', chmod: '700' });
    t.is((await stat(join(d.dst, 'x/top.txt'))).mode & 0o777, 0o644);
    t.is((await stat(join(d.dst, 'x/sub'))).mode & 0o777, 0o755);
    t.is((await stat(join(d.dst, 'x/plain.txt'))).mode & 0o777, 0o700);
  });
});

test('a compressed file that is not a tar is copied as it is; COPY-like rules hold for plain files', async (t) => {
  await withDirs(async (d) => {
    const gz = gzipSync('just text');
    await writeFile(join(d.src, 'notes.gz'), gz);
    await writeFile(join(d.src, 'plain.txt'), 'p');
    await run(d, { sources: ['notes.gz', 'plain.txt'], dest: '/data/' });
    t.deepEqual(await readFile(join(d.dst, 'data/notes.gz')), gz);
    t.is(await readFile(join(d.dst, 'data/plain.txt'), 'utf8'), 'p');
  });
});

test('a hostile archive cannot write outside the destination root', async (t) => {
  await withDirs(async (d) => {
    const outside = join(d.base, 'outside');
    await mkdir(outside);
    const p = pack();
    p.entry({ name: 'ok.txt' }, 'fine');
    p.entry({ name: 'link', type: 'symlink', linkname: outside });
    p.entry({ name: 'link/evil.txt' }, 'through the link');
    p.entry({ name: '../../../../../../..' + outside + '/dotdot.txt' }, 'up');
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    await writeFile(join(d.src, 'evil.tar'), Buffer.concat(chunks));
    await t.throwsAsync(run(d, { sources: ['evil.tar'], dest: '/x/' }), { instanceOf: FileOpError, message: /cannot extract archive/ });
    t.false(existsSync(join(outside, 'evil.txt')));
    t.false(existsSync(join(outside, 'dotdot.txt')));
    t.false(existsSync(join(d.dst, 'x/ok.txt')), 'nothing of a rejected archive reaches the rootfs');
  });
});

async function serve(fn: (url: string) => Promise<void>, files: Record<string, Buffer> = {}): Promise<void> {
  const body = Buffer.from('downloaded bytes\n');
  const server: Server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (file) {
      res.writeHead(200, { 'content-length': file.length });
      res.end(file);
    } else if (req.url === '/files/tool.sh') {
      res.writeHead(200, { 'content-length': body.length, 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
      res.end(body);
    } else if (req.url === '/redirect') {
      res.writeHead(302, { location: '/files/tool.sh' });
      res.end();
    } else {
      res.writeHead(404);
      res.end('no');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

const BODY_SHA = `sha256:${createHash('sha256').update('downloaded bytes\n').digest('hex')}`;

test('ADD of a URL downloads it as 0600, named from the URL, with Last-Modified as mtime and --checksum verified', async (t) => {
  await withDirs(async (d) => {
    await serve(async (base) => {
      await run(d, { sources: [`${base}/files/tool.sh`], dest: '/usr/local/bin/', checksum: BODY_SHA });
      const file = join(d.dst, 'usr/local/bin/tool.sh');
      t.is(await readFile(file, 'utf8'), 'downloaded bytes\n');
      const st = await stat(file);
      t.is(st.mode & 0o7777, 0o600);
      t.deepEqual([st.uid, st.gid], [0, 0]);
      t.is(st.mtime.toISOString(), '2015-10-21T07:28:00.000Z');
      await run(d, { sources: [`${base}/redirect`], dest: '/renamed' });
      t.is(await readFile(join(d.dst, 'renamed'), 'utf8'), 'downloaded bytes\n');
    });
  });
});

test('ADD of a URL fails clearly on a checksum mismatch and on an HTTP error, leaving nothing behind', async (t) => {
  await withDirs(async (d) => {
    await serve(async (base) => {
      const wrong = `sha256:${'0'.repeat(64)}`;
      const e1 = await t.throwsAsync(run(d, { sources: [`${base}/files/tool.sh`], dest: '/t/', checksum: wrong }), { instanceOf: FileOpError });
      t.is(e1!.code, 'E_ADD_CHECKSUM');
      t.regex(e1!.message, new RegExp(`expected ${wrong}, got ${BODY_SHA}`));
      t.false(existsSync(join(d.dst, 't/tool.sh')));
      const e2 = await t.throwsAsync(run(d, { sources: [`${base}/missing`], dest: '/t/' }), { instanceOf: FileOpError });
      t.is(e2!.code, 'E_ADD_FETCH');
      t.regex(e2!.message, /404/);
      await t.throwsAsync(run(d, { sources: [`${base}/files/tool.sh`], dest: '/t/', checksum: 'md5:abc' }), { instanceOf: FileOpError, message: /invalid --checksum/ });
      await writeFile(join(d.src, 'local'), 'x');
      await t.throwsAsync(run(d, { sources: ['local'], dest: '/t/', checksum: BODY_SHA }), { instanceOf: FileOpError, message: /non-HTTP\(S\) sources/ });
    });
  });
});

test('ADD --unpack=true extracts a downloaded archive, which is otherwise copied as it is (BuildKit testDockerfileAddArchive)', async (t) => {
  await withDirs(async (d) => {
    await writeFile(join(d.src, 'inner.txt'), 'packed\n');
    const tar = execFileSync('tar', ['-C', d.src, '-czf', '-', 'inner.txt']);
    await serve(
      async (base) => {
        await run(d, { sources: [`${base}/pack.tar.gz`], dest: '/unpacked/', unpack: true });
        t.is(await readFile(join(d.dst, 'unpacked/inner.txt'), 'utf8'), 'packed\n');
        await run(d, { sources: [`${base}/pack.tar.gz`], dest: '/kept/' });
        t.deepEqual(await readFile(join(d.dst, 'kept/pack.tar.gz')), tar);
      },
      { '/pack.tar.gz': tar },
    );
  });
});

test('ADD of a git repository says it is not supported yet', async (t) => {
  await withDirs(async (d) => {
    const e = await t.throwsAsync(run(d, { sources: ['https://github.com/moby/buildkit.git#v0.12.0'], dest: '/src' }), { instanceOf: FileOpError });
    t.is(e!.code, 'E_ADD_UNSUPPORTED');
  });
});
