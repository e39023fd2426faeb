/**
 * Rootless kiln, end to end: a throw-away unprivileged user with a subordinate id range builds and
 * runs images in kiln's user namespace (real runc, overlay with userxattr), with the files and
 * owners a root build gives; a user without a range is told what to configure.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshRoot, kiln as kilnAsRoot, repo } from './build-helpers.js';
import { describeTree, run } from './image-fixture.js';
import type { ProcessResult } from './process-output.js';
import { checkoutView, tsxArgs } from './read-checkout.js';
import { createUser, spawnAs, type TestUser } from './rootless-user.js';

const DOCKERFILE = `FROM busybox AS build
WORKDIR /src
COPY src/ ./
RUN --mount=type=cache,target=/cache,uid=1000,gid=1000 \\
    id -u > /cache/last-uid && stat -c '%u:%g %a' /cache > /src/cache-owner && cat *.txt > /src/all.txt
RUN echo "app:x:1000:1000::/home/app:/bin/sh" >> /etc/passwd && mkdir -p /out && cp /src/all.txt /src/cache-owner /out/ && chown -R 1000:1000 /out

FROM busybox
RUN rm /etc/group && rm -rf /home && mkdir -p /home/app
COPY --from=build /etc/passwd /etc/passwd
COPY --from=build --chown=1000:1000 /out/ /srv/
COPY --chown=1000:1000 src/a.txt /srv/a.txt
USER 1000
RUN echo "made by $(id -u)" > /tmp/made
CMD ["cat", "/srv/all.txt", "/srv/cache-owner", "/tmp/made"]
`;

/** A RUN that says when it runs (the progress header shows the unexpanded text) and then waits. */
const SLOW_DOCKERFILE = 'FROM busybox\nARG SLEEP=30\nRUN echo ready-$((6*7)) && sleep $SLEEP\n';

let user: TestUser;
let ctx: string;
let slowCtx: string;

test.before(async () => {
  user = await createUser({ subordinateIds: true });
  ctx = join(user.shared, 'ctx');
  await mkdir(join(ctx, 'src'), { recursive: true });
  await writeFile(join(ctx, 'Dockerfile'), DOCKERFILE);
  await writeFile(join(ctx, 'src', 'a.txt'), 'one\n');
  await writeFile(join(ctx, 'src', 'b.txt'), 'two\n');
  slowCtx = join(user.shared, 'slow');
  await mkdir(slowCtx);
  await writeFile(join(slowCtx, 'Dockerfile'), SLOW_DOCKERFILE);
  // busybox:latest in the user's default state root, imported by the user.
  const made = await user.run('bash', [checkoutView.path(join(repo, 'fixtures', 'make-busybox-image.sh')), join(user.home, '.local', 'share', 'kiln')]);
  if (made.code !== 0) throw new Error(`make-busybox-image.sh as ${user.name} failed: ${made.stderr}`);
});
test.after.always(async () => user?.remove());

function ok(t: { is: (a: unknown, b: unknown, m?: string) => void }, r: ProcessResult, what: string): void {
  t.is(r.code, 0, `${what}: ${r.stderr}`);
}

/** `kiln save --format oci` unpacked with umoci: the image's root filesystem as a tree description. */
async function unpackedTree(save: (file: string) => Promise<ProcessResult>, dir: string, owner: number): Promise<Map<string, string>> {
  await mkdir(dir);
  await chown(dir, owner, owner);
  const file = join(dir, 'image.tar');
  const r = await save(file);
  if (r.code !== 0) throw new Error(`kiln save failed: ${r.stderr}`);
  const layout = join(dir, 'layout');
  await mkdir(layout);
  await run('tar', ['-xf', file, '-C', layout]);
  await run('umoci', ['unpack', '--image', `${layout}:1`, join(dir, 'bundle')]);
  return describeTree(join(dir, 'bundle', 'rootfs'));
}

test('an unprivileged user with a subuid range builds and runs a multi-stage image: the files and owners a root build gives', async (t) => {
  ok(t, await user.kiln(['build', '--progress', 'plain', '-t', 'rl:1', ctx]), 'rootless build');
  const ran = await user.kiln(['run', 'rl:1']);
  ok(t, ran, 'rootless run');
  t.is(ran.stdout, 'one\ntwo\n1000:1000 755\nmade by 1000\n');
  // The state root is the user's own ($XDG_DATA_HOME/kiln by default), owned by the user on the host.
  t.is((await stat(join(user.home, '.local', 'share', 'kiln', 'index.db'))).uid, user.uid);

  const state = await freshRoot();
  try {
    ok(t, await kilnAsRoot(state.root, ['build', '--progress', 'plain', '-t', 'rl:1', ctx]), 'root build');
    const rootless = await unpackedTree((file) => user.kiln(['save', '--format', 'oci', '-o', file, 'rl:1']), join(user.shared, 'rootless-image'), user.uid);
    const rooted = await unpackedTree((file) => kilnAsRoot(state.root, ['save', '--format', 'oci', '-o', file, 'rl:1']), join(user.shared, 'root-image'), 0);
    t.is(rootless.get('srv/all.txt'), rooted.get('srv/all.txt'));
    t.regex(rootless.get('srv/all.txt') ?? '', / owner=1000:1000$/);
    t.regex(rootless.get('tmp/made') ?? '', / owner=1000:1000$/);
    t.is(rootless.get('etc/group'), undefined, 'the whiteout of /etc/group');
    t.deepEqual([...rootless.keys()].filter((p) => p.startsWith('home')), ['home', 'home/app'], 'the opaque /home');
    t.deepEqual(rootless, rooted);
  } finally {
    await state.cleanup();
  }
});

test('a user without a subuid range, or without newuidmap, is told at once what to configure: exit 1, no stack trace', async (t) => {
  const rangeless = await createUser({ subordinateIds: false });
  try {
    for (const args of [
      ['run', 'busybox', 'true'],
      ['build', ctx],
    ]) {
      const r = await rangeless.kiln(args);
      t.is(r.code, 1, args[0]);
      const name = rangeless.name;
      t.regex(
        r.stderr,
        new RegExp(
          `^kiln: kiln runs as ${name} \\(uid ${rangeless.uid}\\), not root, so it runs containers in a user namespace, which needs a range of subordinate ids for ${name} in /etc/subuid and /etc/subgid\\n` +
            `hint: as root, give ${name} 65536 ids: \`usermod --add-subuids (\\d+)-\\d+ --add-subgids \\1-\\d+ ${name}\` \\(the line \`${name}:\\1:65536\` in /etc/subuid and /etc/subgid\\); or run kiln as root\\n$`,
        ),
      );
    }
  } finally {
    await rangeless.remove();
  }
  const emptyPath = join(user.shared, 'empty-bin');
  await mkdir(emptyPath);
  const r = await user.kiln(['run', 'busybox', 'true'], { env: { PATH: emptyPath } });
  t.is(r.code, 1);
  t.regex(r.stderr, /which needs the newuidmap and newgidmap programs\nhint: install them: `apt-get install uidmap` on Debian\/Ubuntu/);
  t.notRegex(r.stderr, /\n\s+at /);
});

test('layers in the user namespace: a device node is left out; an owner outside the mapped ids is a clear error', async (t) => {
  const tars = join(user.shared, 'tars');
  await mkdir(tars);
  await run('python3', [
    '-c',
    `import io, sys, tarfile
def add(tf, name, kind, uid=0, data=b''):
    i = tarfile.TarInfo(name)
    i.type, i.uid, i.gid, i.size = kind, uid, uid, len(data)
    i.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    i.devmajor, i.devminor = 1, 3
    tf.addfile(i, io.BytesIO(data) if data else None)
with tarfile.open(sys.argv[1], 'w') as tf:
    add(tf, 'devnode', tarfile.DIRTYPE)
    add(tf, 'devnode/null', tarfile.CHRTYPE)
    add(tf, 'devnode/keep', tarfile.REGTYPE, data=b'kept')
with tarfile.open(sys.argv[2], 'w') as tf:
    add(tf, 'far', tarfile.REGTYPE, uid=70000, data=b'x')`,
    join(tars, 'dev.tar'),
    join(tars, 'far.tar'),
  ]);
  ok(t, await user.kiln(['import', join(tars, 'dev.tar'), 'dev:1']), 'import dev.tar');
  ok(t, await user.kiln(['build', '-t', 'devcheck:1', '-'], { input: 'FROM busybox\nCOPY --from=dev:1 /devnode/ /devnode/\n' }), 'build on the layer with a device node');
  t.is((await user.kiln(['run', 'devcheck:1', 'ls', '/devnode'])).stdout, 'keep\n');

  ok(t, await user.kiln(['import', join(tars, 'far.tar'), 'far:1']), 'import far.tar');
  const used = await user.kiln(['build', '-'], { input: 'FROM busybox\nCOPY --from=far:1 /far /far\n' });
  t.is(used.code, 1);
  t.regex(used.stderr, /layer entry "far" is owned by 70000:70000, outside the ids kiln's user namespace maps \(0-65536\)/);
  t.regex(used.stderr, /hint: give the user running kiln a larger range of subordinate ids in \/etc\/subuid and \/etc\/subgid/);
  t.notRegex(used.stderr, /\n\s+at /);
});

/** The pids whose parent is `pid`, from /proc. */
async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
  }
  return out;
}

async function gone(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

// Serial, and so before the others: kiln check looks at the whole state root, where the other tests' builds would show up half done.
test.serial('kiln killed with SIGKILL takes its namespaced half with it; the next kiln cleans up and kiln check is clean', async (t) => {
  const child = spawnAs(user.argv(process.execPath, [...tsxArgs(join(repo, 'cli', 'main.ts')), 'build', '--no-cache', '--progress', 'plain', slowCtx]));
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (/^#\d+ \S+ ready-42$/m.test(stderr)) resolve();
    });
    child.on('exit', () => reject(new Error(`the build ended before its RUN started:\n${stderr}`)));
  });
  const inner = await childrenOf(child.pid!);
  t.is(inner.length, 1, 'one namespaced kiln below the one the user started');
  child.kill('SIGKILL');
  for (let i = 0; i < 200 && !(await gone(inner[0]!)); i++) await sleep(50);
  t.true(await gone(inner[0]!), 'the namespaced kiln died with its parent');

  ok(t, await user.kiln(['build', '--progress', 'plain', '--build-arg', 'SLEEP=0', slowCtx]), 'the next build');
  const check = await user.kiln(['check']);
  t.is(check.code, 0, check.stdout + check.stderr);
  t.regex(check.stderr, /no problems found/);
});

test.serial('Ctrl-C at the terminal cancels a rootless build once, cleanly (the terminal signals both kiln processes; it is not passed on twice)', async (t) => {
  const argv = user.argv(process.execPath, [...tsxArgs(join(repo, 'cli', 'main.ts')), 'build', '--no-cache', '--progress', 'plain', slowCtx]);
  const r = await new Promise<ProcessResult>((resolve, reject) => {
    const child = spawn('python3', [join(repo, 'test', 'pty-run.py'), '30', '100', JSON.stringify([['ready-42\r\n', ['\x03']]]), '--', ...argv], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  t.is(r.code, 1, r.stdout);
  t.regex(r.stdout, /kiln: build cancelled/);
  const check = await user.kiln(['check']);
  t.is(check.code, 0, check.stdout + check.stderr);
  t.regex(check.stderr, /no problems found/);
});
