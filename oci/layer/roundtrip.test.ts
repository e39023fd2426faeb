import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, chown, lchown, link, lutimes, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setAttribute } from 'fs-xattr';
import { applyLayer, createLayerTar, packLayer } from './index.js';
import { snapshotTree } from './test-support.js';

const LONG = `${'d'.repeat(120)}/${'e'.repeat(110)}/${'f'.repeat(150)}`;
// A file capability (cap_net_raw+ep): binary, not valid UTF-8, as found in real images.
const CAPABILITY = Buffer.from('0000000201200000000000000000000000000000', 'hex');

async function scratch(t: { teardown: (f: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-layer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A tree with one of everything a layer has to carry. Needs root (chown, mknod, security.* xattrs). */
async function makeRichTree(src: string): Promise<void> {
  await mkdir(join(src, 'etc/empty'), { recursive: true });
  await writeFile(join(src, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  await chmod(join(src, 'etc/passwd'), 0o644);
  await writeFile(join(src, 'etc/shadow'), 'root:*::0:::::\n');
  await chmod(join(src, 'etc/shadow'), 0o000);
  await mkdir(join(src, 'bin'));
  await writeFile(join(src, 'bin/ping'), Buffer.alloc(70_000, 7));
  await chown(join(src, 'bin/ping'), 0, 0);
  await chmod(join(src, 'bin/ping'), 0o4755);
  await setAttribute(join(src, 'bin/ping'), 'security.capability', CAPABILITY);
  await setAttribute(join(src, 'bin/ping'), 'user.note', 'héllo');
  await link(join(src, 'bin/ping'), join(src, 'bin/ping6'));
  await symlink('ping', join(src, 'bin/pong'));
  await symlink('/nonexistent/absolute', join(src, 'bin/dangling'));
  await mkdir(join(src, 'home/user'), { recursive: true });
  await writeFile(join(src, 'home/user/file with spaces & ümlauts ☃.txt'), 'special\n');
  await chown(join(src, 'home/user'), 1000, 1000);
  await chown(join(src, 'home/user/file with spaces & ümlauts ☃.txt'), 1000, 100);
  await lchown(join(src, 'bin/pong'), 1000, 1000);
  await mkdir(join(src, LONG), { recursive: true });
  await writeFile(join(src, LONG, `${'g'.repeat(200)}.txt`), 'long\n');
  await symlink(`../${'x'.repeat(150)}`, join(src, LONG, 'long-link'));
  await mkdir(join(src, 'dev'));
  execFileSync('mknod', [join(src, 'dev/null'), 'c', '1', '3']);
  execFileSync('mknod', [join(src, 'dev/loop9'), 'b', '7', '9']);
  execFileSync('mkfifo', [join(src, 'dev/fifo')]);
  await chmod(join(src, 'dev/null'), 0o666);
  await mkdir(join(src, 'tmp'));
  await chmod(join(src, 'tmp'), 0o1777);
  await mkdir(join(src, 'ro'));
  await writeFile(join(src, 'ro/inside'), 'x');
  await chmod(join(src, 'ro'), 0o555);
  // Distinct mtimes everywhere, set last (children first) so creating entries does not move them.
  let t = 1_600_000_000;
  for (const p of ['bin/ping', 'etc/passwd', 'etc/shadow', 'home/user/file with spaces & ümlauts ☃.txt', 'dev/null', 'dev/fifo', join(LONG, `${'g'.repeat(200)}.txt`)]) {
    await utimes(join(src, p), t, t);
    t += 1000;
  }
  await lutimes(join(src, 'bin/pong'), 1_234_567_890, 1_234_567_890);
  for (const d of [LONG, 'etc/empty', 'etc', 'bin', 'home/user', 'home', 'dev', 'tmp', 'ro']) await utimes(join(src, d), (t += 1000), t);
}

test('a tree survives tar and extract unchanged: modes, owners, mtimes, links, devices, xattrs, long and special names', async (t) => {
  const base = await scratch(t);
  const src = join(base, 'src');
  const dst = join(base, 'dst');
  await mkdir(src);
  await mkdir(dst);
  await makeRichTree(src);

  const { diffID } = await applyLayer(createLayerTar(src), dst);
  t.deepEqual(await snapshotTree(dst), await snapshotTree(src));
  t.regex(diffID, /^sha256:[0-9a-f]{64}$/);
  // The binary capability came through byte for byte (a UTF-8 round trip would have mangled it).
  t.true((await snapshotTree(dst)).some((l) => l.startsWith('bin/ping file') && l.includes(`security.capability=${CAPABILITY.toString('hex')}`)));
});

test('GNU tar extracts kiln layers to the same tree, and kiln extracts GNU tar archives to the same tree', async (t) => {
  const base = await scratch(t);
  const src = join(base, 'src');
  await mkdir(src);
  await makeRichTree(src);
  const expected = await snapshotTree(src);

  const ours = join(base, 'ours.tar');
  await pipeline(createLayerTar(src), createWriteStream(ours));
  const byGnu = join(base, 'by-gnu');
  await mkdir(byGnu);
  execFileSync('tar', ['-xpf', ours, '-C', byGnu, '--xattrs', '--xattrs-include=*', '--numeric-owner']);
  t.deepEqual(await snapshotTree(byGnu), expected);

  for (const format of ['gnu', 'posix']) {
    const theirs = join(base, `theirs-${format}.tar`);
    execFileSync('tar', ['-cf', theirs, `--format=${format}`, '--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', src, '.']);
    const byKiln = join(base, `by-kiln-${format}`);
    await mkdir(byKiln);
    await applyLayer(createReadStream(theirs), byKiln);
    // GNU tar only keeps xattrs in posix format.
    const strip = (lines: string[]): string[] => lines.map((l) => (format === 'gnu' ? l.replace(/ xattr .*$/, '') : l));
    t.deepEqual(strip(await snapshotTree(byKiln)), strip(expected), format);
  }
});

test('entries are sorted depth-first in byte order, relative, without a root entry; hard links point at the first path', async (t) => {
  const src = await scratch(t);
  await mkdir(join(src, 'a'));
  await writeFile(join(src, 'a-b'), '1');
  await writeFile(join(src, 'a/z'), '2');
  await writeFile(join(src, 'B'), '3');
  await writeFile(join(src, 'é'), '4');
  await link(join(src, 'a-b'), join(src, 'a/hard'));
  const listing = execFileSync('tar', ['-tvf', '-'], { input: await streamToBuffer(createLayerTar(src)) }).toString();
  const names = listing.trim().split('\n').map((l) => l.replace(/^.* \d\d:\d\d /, ''));
  t.deepEqual(names, ['B', 'a/', 'a/hard', 'a/z', 'a-b link to a/hard', 'é']);
});

test('a deep and wide tree is walked without recursion limits', async (t) => {
  const src = await scratch(t);
  let deep = src;
  for (let i = 0; i < 200; i++) deep = join(deep, 'd');
  await mkdir(deep, { recursive: true });
  await writeFile(join(deep, 'bottom'), 'b');
  await mkdir(join(src, 'wide'));
  for (let i = 0; i < 1000; i++) await writeFile(join(src, 'wide', `f${i}`), '');
  const dst = await scratch(t);
  await applyLayer(createLayerTar(src), dst);
  t.deepEqual(await snapshotTree(dst), await snapshotTree(src));
});

test('packLayer output extracts back with the same diffID', async (t) => {
  const src = await scratch(t);
  await writeFile(join(src, 'f'), Buffer.alloc(300_000, 'ab'));
  for (const compression of ['gzip', 'zstd', 'none'] as const) {
    const { stream, result } = packLayer(src, { compression });
    const blob = await streamToBuffer(stream);
    const packed = await result;
    const dst = await scratch(t);
    const applied = await applyLayer(Readable.from([blob]), dst);
    t.is(applied.diffID, packed.diffID, compression);
    t.deepEqual(await snapshotTree(dst), await snapshotTree(src), compression);
  }
});

async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
