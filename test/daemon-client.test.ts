/**
 * kiln as a client of `kiln serve` (`--host`, KILN_HOST): a build through a real daemon gives the
 * image an embedded build gives, a rebuild sends no context content and a one-file change sends
 * only that file (the daemon's "build context received" log), errors match an embedded build,
 * and an unreachable daemon fails clearly.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { pack } from 'tar-stream';
import { openStore } from '../cache/index.js';
import { freshRoot, kiln } from './build-helpers.js';
import { http, startDaemon, type TestDaemon } from './daemon-helpers.js';

let d: TestDaemon;
let ctx: string;
let local: { root: string; cleanup: () => Promise<void> };

test.before(async () => {
  [d, local] = await Promise.all([startDaemon(), freshRoot()]);
  ctx = await mkdtemp(join(tmpdir(), 'kiln-client-ctx-'));
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY . /ctx\nCMD ["cat", "/ctx/a.txt"]\n');
  await writeFile(join(ctx, 'a.txt'), 'hello from the client\n');
  await writeFile(join(ctx, 'same.txt'), 'hello from the client\n');
  await mkdir(join(ctx, 'sub'));
  await writeFile(join(ctx, 'sub', 'run.sh'), '#!/bin/sh\necho run\n');
  await chmod(join(ctx, 'sub', 'run.sh'), 0o755);
  await writeFile(join(ctx, 'sub', 'big.bin'), Buffer.alloc(300_000, 7));
  await symlink('sub/run.sh', join(ctx, 'link'));
  await writeFile(join(ctx, 'ignored.log'), 'never sent\n');
  await writeFile(join(ctx, '.dockerignore'), '*.log\n');
});

test.after.always(async () => {
  await Promise.all([d?.cleanup(), local?.cleanup(), ctx ? rm(ctx, { recursive: true, force: true }) : undefined]);
});

/** The last `build context received` record in the daemon's log. */
function lastReceived(): { files: number; bytes: number } {
  const lines = d.log().split('\n').filter((l) => l.includes('build context received'));
  const last = lines.at(-1) ?? '';
  const files = /files=(\d+)/.exec(last);
  const bytes = /bytes=(\d+)/.exec(last);
  if (!files || !bytes) throw new Error(`no context record in the daemon log:\n${d.log()}`);
  return { files: Number(files[1]), bytes: Number(bytes[1]) };
}

async function imageOf(root: string, name: string): Promise<{ diffIds: string[]; config: unknown }> {
  const store = await openStore(root);
  try {
    const img = await store.resolveImage(name);
    return { diffIds: img.config.rootfs.diff_ids, config: img.config.config };
  } finally {
    store.close();
  }
}

test.serial('a build through the daemon gives the embedded image; a rebuild sends no content, a one-file change only that file', async (t) => {
  const host = `unix://${d.socket}`;
  // COPY makes /ctx at the time of the build (as BuildKit): with SOURCE_DATE_EPOCH both builds give it the same one.
  const epoch = { SOURCE_DATE_EPOCH: '1700000000' };
  const remote = await kiln(local.root, ['--host', host, 'build', '-t', 'x:1', ctx], undefined, epoch);
  t.is(remote.code, 0, remote.stderr);
  t.regex(remote.stderr, /naming to docker\.io\/library\/x:1/);
  const first = lastReceived();
  // Dockerfile, .dockerignore, a.txt (same.txt has its content, so it is not sent again), run.sh, big.bin; never ignored.log.
  t.is(first.files, 5);
  t.is(first.bytes, 'hello from the client\n'.length + 'FROM busybox\nCOPY . /ctx\nCMD ["cat", "/ctx/a.txt"]\n'.length + '#!/bin/sh\necho run\n'.length + 300_000 + '*.log\n'.length);

  const embedded = await kiln(local.root, ['build', '-t', 'x:1', ctx], undefined, epoch);
  t.is(embedded.code, 0, embedded.stderr);
  t.deepEqual(await imageOf(d.root, 'x:1'), await imageOf(local.root, 'x:1'));

  const again = await kiln(local.root, ['--host', host, 'build', '-t', 'x:2', ctx]);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(lastReceived(), { files: 0, bytes: 0 });
  t.regex(again.stderr, /sent build context to .*: 0 files, 0 bytes/);

  await writeFile(join(ctx, 'sub', 'run.sh'), '#!/bin/sh\necho changed\n');
  const changed = await kiln(local.root, ['--host', host, 'build', '-t', 'x:3', ctx]);
  t.is(changed.code, 0, changed.stderr);
  t.deepEqual(lastReceived(), { files: 1, bytes: '#!/bin/sh\necho changed\n'.length });
  const run = await kiln(d.root, ['run', '--rm', 'x:3', 'cat', '/ctx/sub/run.sh', '/ctx/link']);
  t.is(run.stdout, '#!/bin/sh\necho changed\n#!/bin/sh\necho changed\n', run.stderr);
});

test.serial('KILN_HOST makes build a client; a Dockerfile error reads as in an embedded build', async (t) => {
  const ok = await kiln(local.root, ['build', '-q', ctx], undefined, { KILN_HOST: `unix://${d.socket}` });
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  t.regex(d.log(), new RegExp(`build done" .*id=${ok.stdout.trim()}`));

  const bad = await mkdtemp(join(tmpdir(), 'kiln-client-bad-'));
  try {
    await writeFile(join(bad, 'Dockerfile'), 'FROM busybox\nCOPY missing.txt /\n');
    const remote = await kiln(local.root, ['build', bad], undefined, { KILN_HOST: `unix://${d.socket}` });
    const embedded = await kiln(local.root, ['build', bad]);
    t.is(remote.code, 1);
    t.is(embedded.code, 1);
    const lastLines = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('kiln:') || l.startsWith('hint:') || /^Dockerfile:\d+:\d+/.test(l));
    t.deepEqual(lastLines(remote.stderr), lastLines(embedded.stderr));
    t.true(lastLines(remote.stderr).length > 0, remote.stderr);
    t.notRegex(remote.stderr, /\n\s+at /);

    await writeFile(join(bad, 'Dockerfile'), 'FROM busybox\nRUN echo out-line; exit 3\n');
    const failed = await kiln(local.root, ['--host', `unix://${d.socket}`, 'build', bad]);
    t.is(failed.code, 1);
    t.regex(failed.stderr, /Dockerfile:2:1: stage stage-0: RUN echo out-line; exit 3 failed with exit code 3\n.*\n.*\nlast 1 lines of output:\n {2}\| out-line\nfull log: \S+step-2\.log/);
  } finally {
    await rm(bad, { recursive: true, force: true });
  }
});

test('an unreachable daemon is a clear error', async (t) => {
  const gone = join(d.dir, 'nobody.sock');
  const r = await kiln(local.root, ['--host', `unix://${gone}`, 'build', ctx]);
  t.is(r.code, 1);
  t.regex(r.stderr, new RegExp(`kiln: cannot reach the kiln daemon at unix://${gone}`));
  t.regex(r.stderr, /hint: start one with `kiln serve/);
  t.notRegex(r.stderr, /\n\s+at /);
});

test.serial('images, tag and rmi through --host act on the daemon and print what they print embedded', async (t) => {
  const host = ['--host', `unix://${d.socket}`];
  const tagged = await kiln(local.root, [...host, 'tag', 'x:1', 'localhost:5000/team/y:2']);
  t.is(tagged.code, 0, tagged.stderr);
  const remote = await kiln(local.root, [...host, 'images']);
  t.is(remote.code, 0, remote.stderr);
  const embedded = await kiln(d.root, ['images']);
  // The CREATED column moves with the clock between the two listings, and with its width (9 -> 10
  // seconds ago) the padding after it, in the rows and in the header.
  const stable = (out: string) => out.replace(/\d+ \w+ ago +/g, 'AGO ').replace(/^(REPOSITORY.*CREATED) +/, '$1 ');
  t.is(stable(remote.stdout), stable(embedded.stdout));
  t.regex(remote.stdout, /localhost:5000\/team\/y\s+2\s/);
  const rmi = await kiln(local.root, [...host, 'rmi', 'localhost:5000/team/y:2']);
  t.is(rmi.code, 0, rmi.stderr);
  t.is(rmi.stdout, 'Untagged: localhost:5000/team/y:2\n');
  const missing = await kiln(local.root, [...host, 'rmi', 'nope:1']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^kiln: .*nope:1/m);
  t.notRegex(missing.stderr, /\n\s+at /);
});

test.serial('docker builder prune -a also empties the uploaded-context store: the next build sends everything again', async (t) => {
  const pruned = await http(d.socket, 'POST', '/build/prune?all=1');
  t.is(pruned.status, 200, pruned.body);
  t.true((JSON.parse(pruned.body) as { SpaceReclaimed: number }).SpaceReclaimed >= 300_000);
  const r = await kiln(local.root, ['--host', `unix://${d.socket}`, 'build', ctx]);
  t.is(r.code, 0, r.stderr);
  t.is(lastReceived().files, 5);
});

test('content that does not match its digest is a 400, nothing is stored, and the daemon keeps serving', async (t) => {
  const content = Buffer.from('the real bytes\n');
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  const check = await http(
    d.socket,
    'POST',
    '/kiln/v1/build/context/check',
    JSON.stringify({ entries: [{ path: 'f', type: 'file', mode: 0o644, size: content.length, digest }], dockerfile: 'FROM busybox\n' }),
    { 'Content-Type': 'application/json' },
  );
  t.is(check.status, 200, check.body);
  const { session, missing } = JSON.parse(check.body) as { session: string; missing: string[] };
  t.deepEqual(missing, [digest]);
  const p = pack();
  p.entry({ name: digest.slice(7), size: 5 }, 'wrong');
  p.finalize();
  const bad = await http(d.socket, 'POST', `/kiln/v1/build?session=${session}`, await buffer(p));
  t.is(bad.status, 400);
  t.regex(bad.body, /does not match its digest/);
  t.deepEqual(await readdir(join(d.root, 'context-cache', 'sha256')).then((names) => names.filter((n) => n.startsWith(digest.slice(7)))), []);
  t.is((await http(d.socket, 'GET', '/_ping')).status, 200);
});
