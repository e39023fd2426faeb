import test from 'ava';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageConfig } from '../oci/index.js';
import { parseSecretFlag } from '../runtime/index.js';
import type { BuildOptions } from '../solver/index.js';
import { dockerfileOptions, freshRoot, rootfsOf, tracedBuild } from './build-helpers.js';

// Builds whose result BuildKit defines beyond what the instructions say on their own.

/**
 * Builds `dockerfile` (with `files` as its context) in a fresh state root and hands `check` the
 * image config and the path of its root filesystem; everything is removed afterwards.
 */
async function built(dockerfile: string, files: Record<string, string>, check: (r: { config: ImageConfig; fs: string }) => Promise<void>, options: Partial<BuildOptions> = {}): Promise<void> {
  const { root, cleanup } = await freshRoot();
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-parity-'));
  try {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    for (const [name, data] of Object.entries(files)) await writeFile(join(ctx, name), data);
    const { result } = await tracedBuild({ ...(await dockerfileOptions(root, ctx)), tags: ['parity'], ...options });
    await check({ config: result.config, fs: await rootfsOf(root, 'parity') });
  } finally {
    await rm(ctx, { recursive: true, force: true });
    await cleanup();
  }
}

const history = (config: ImageConfig) => config.history!.map((h) => h.created_by);
const owner = async (path: string) => {
  const st = await stat(path);
  return [st.uid, st.gid, st.mode & 0o7777];
};

test('a stage built FROM another stage keeps its ARGs in scope, and a value-less ARG keeps the value it has', (t) =>
  built(['ARG V=1', 'FROM busybox AS base', 'ARG V', 'ARG W=w1', 'FROM base', 'ARG W', 'RUN echo "$V $W" > /out'].join('\n'), {}, async ({ config, fs }) => {
    t.is(await readFile(join(fs, 'out'), 'utf8'), '1 w1\n');
    t.true(history(config).includes('ARG W'));
    t.is(history(config).at(-1), 'RUN |2 V=1 W=w1 /bin/sh -c echo "$V $W" > /out # buildkit');
  }));

test('RUN heredocs: a #! body runs as a file at /dev/pipes/NAME, <<- strips tabs of a lone one, several are passed to the shell', (t) =>
  built(
    'FROM busybox\nUSER nobody\nRUN <<EOF\n#!/bin/sh\necho "$0" > /tmp/self\nEOF\nRUN <<-EOT\n\techo tabbed > /tmp/tab\n\tEOT\nRUN cat > /tmp/b <<B && cat > /tmp/c <<C\nbee\nB\nsea\nC\n',
    {},
    async ({ config, fs }) => {
      t.is(await readFile(join(fs, 'tmp/self'), 'utf8'), '/dev/pipes/EOF\n');
      t.is(await readFile(join(fs, 'tmp/tab'), 'utf8'), 'tabbed\n');
      t.is(await readFile(join(fs, 'tmp/c'), 'utf8'), 'sea\n');
      t.deepEqual(history(config).slice(-3), [
        'RUN /bin/sh -c /dev/pipes/EOF # buildkit',
        'RUN /bin/sh -c echo tabbed > /tmp/tab\n # buildkit',
        // Several heredocs: the line, then "\n" + body + delimiter for each, no final newline.
        'RUN /bin/sh -c cat > /tmp/b <<B && cat > /tmp/c <<C\nbee\nB\nsea\nC # buildkit',
      ]);
    },
  ));

test('RUN containers are called buildkitsandbox, in hostname and /etc/hosts', (t) =>
  built('FROM busybox\nRUN hostname > /hn && cat /etc/hosts > /hosts\n', {}, async ({ fs }) => {
    t.is(await readFile(join(fs, 'hn'), 'utf8'), 'buildkitsandbox\n');
    t.is(await readFile(join(fs, 'hosts'), 'utf8'), '127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  }));

test('BUILDKIT_SANDBOX_HOSTNAME names the RUN containers instead (BuildKit testDockerfileCheckHostname)', (t) =>
  built(
    'FROM busybox\nRUN hostname > /hn && cat /etc/hosts > /hosts\n',
    {},
    async ({ fs }) => {
      t.is(await readFile(join(fs, 'hn'), 'utf8'), 'foo\n');
      t.regex(await readFile(join(fs, 'hosts'), 'utf8'), /localhost foo\n/);
    },
    { buildArgs: new Map([['BUILDKIT_SANDBOX_HOSTNAME', 'foo']]) },
  ));

test('RUN --network=default is the build network: none when the build has --network none', (t) =>
  built(
    'FROM busybox\nRUN --network=default ls /sys/class/net > /nets\n',
    {},
    async ({ fs }) => {
      t.is(await readFile(join(fs, 'nets'), 'utf8'), 'lo\n');
    },
    { network: 'none' },
  ));

test('--mount fields hold variables, its type too, checked once expanded (BuildKit testMountArg)', async (t) => {
  await built('FROM busybox\nARG T=cache MODE=0700\nRUN --mount=type=$T,target=/c,mode=$MODE stat -c %a /c > /m\n', {}, async ({ fs }) => {
    t.is(await readFile(join(fs, 'm'), 'utf8'), '700\n');
  });
  const e = await t.throwsAsync(built('FROM busybox\nARG T=nfs\nRUN --mount=type=$T,target=/c true\n', {}, async () => undefined));
  t.is(e!.message, 'unsupported mount type "nfs"');
  t.like(e, { code: 'E_BUILD_MOUNT', position: { line: 3, column: 1 } });
});

test('a RUN whose working directory is missing makes it, owned by the RUN user', (t) =>
  built('FROM busybox\nWORKDIR /gone/deep\nRUN rm -r /gone\nUSER nobody\nRUN pwd > /tmp/pwd\n', {}, async ({ fs }) => {
    t.is(await readFile(join(fs, 'tmp/pwd'), 'utf8'), '/gone/deep\n');
    for (const dir of ['gone', 'gone/deep']) t.deepEqual(await owner(join(fs, dir)), [65534, 65534, 0o755], dir);
  }));

test('an image FROM scratch has WorkingDir / and the default PATH, as BuildKit emptyImage', (t) =>
  built('FROM scratch\nCOPY f /f\n', { f: 'x' }, async ({ config }) => {
    t.is(config.config!.WorkingDir, '/');
    t.deepEqual(config.config!.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  }));

test('a USER or --chown name missing from /etc/passwd is root, as BuildKit readUser, not an error', (t) =>
  built('FROM busybox\nUSER ghost\nWORKDIR /w\nCOPY --chown=ghost:nogroup f /f\n', { f: 'x' }, async ({ fs }) => {
    t.deepEqual(await owner(join(fs, 'w')), [0, 0, 0o755]);
    t.deepEqual(await owner(join(fs, 'f')), [0, 65534, 0o644]);
  }));

test('a COPY heredoc body expands with \\ as escape even under # escape=`', (t) =>
  built('# escape=`\nFROM busybox\nENV A=x\nCOPY <<EOF /f\n\\$A $A\nEOF\n', {}, async ({ fs }) => {
    t.is(await readFile(join(fs, 'f'), 'utf8'), '$A x\n');
  }));

test('a bind mount source stays inside its context or stage: `..` and symlinks resolve in it (BuildKit dispatchRunMounts path.Join("/", source))', async (t) => {
  const { root, cleanup } = await freshRoot();
  const outer = await mkdtemp(join(tmpdir(), 'kiln-parity-'));
  const ctx = join(outer, 'ctx');
  try {
    await writeFile(join(outer, 'outside'), 'host file');
    await mkdir(ctx);
    await writeFile(join(ctx, 'inside'), 'in');
    await symlink('/', join(ctx, 'rootlink'));
    await writeFile(
      join(ctx, 'Dockerfile'),
      [
        'FROM busybox AS s',
        'RUN echo st > /st',
        'FROM busybox',
        'RUN --mount=type=bind,source=../,target=/x ls /x > /up',
        'RUN --mount=type=bind,source=rootlink,target=/x ls /x > /link',
        'RUN --mount=type=bind,from=s,source=../..,target=/x ls /x/st > /stage',
      ].join('\n'),
    );
    await tracedBuild({ ...(await dockerfileOptions(root, ctx)), tags: ['parity'] });
    const fs = await rootfsOf(root, 'parity');
    for (const f of ['up', 'link']) t.is(await readFile(join(fs, f), 'utf8'), 'Dockerfile\ninside\nrootlink\n', f);
    t.is(await readFile(join(fs, 'stage'), 'utf8'), '/x/st\n');
  } finally {
    await rm(outer, { recursive: true, force: true });
    await cleanup();
  }
});

test('a secret mount is named by source= as by id=, goes by default to /run/secrets/ + the base name of its id, and a relative target is from / (BuildKit dispatchSecret)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-parity-secret-'));
  try {
    await writeFile(join(dir, 's'), 'sekret');
    const secrets = new Map([
      ['mysec', parseSecretFlag(`id=mysec,src=${join(dir, 's')}`)],
      ['a/b', parseSecretFlag(`id=a/b,src=${join(dir, 's')}`)],
    ]);
    await built(
      'FROM busybox\nRUN --mount=type=secret,source=mysec,target=/tmp/sec cat /tmp/sec > /src\nRUN --mount=type=secret,id=a/b cat /run/secrets/b > /slash\nWORKDIR /w\nRUN --mount=type=secret,id=mysec,target=rel cat /rel > /relative\n',
      {},
      async ({ fs }) => {
        t.is(await readFile(join(fs, 'src'), 'utf8'), 'sekret');
        t.is(await readFile(join(fs, 'slash'), 'utf8'), 'sekret');
        t.is(await readFile(join(fs, 'relative'), 'utf8'), 'sekret', 'a relative target is from /, not WORKDIR');
      },
      { secrets },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a cache mount without id is named by its target as written, so a relative one is shared across WORKDIRs (BuildKit dispatchRunMounts)', (t) =>
  built('FROM busybox\nWORKDIR /a\nRUN --mount=type=cache,target=c/ echo one > c/f\nWORKDIR /b\nRUN --mount=type=cache,target=./c cat c/f > /out\n', {}, async ({ fs }) => {
    t.is(await readFile(join(fs, 'out'), 'utf8'), 'one\n');
  }));

test('BUILDKIT_SBOM_SCAN_* ARGs are not in a RUN environment (BuildKit nonEnvArgs)', (t) =>
  built('FROM busybox\nARG BUILDKIT_SBOM_SCAN_STAGE=true V=1\nRUN env | grep -c -e SBOM -e ^V= > /out || true\n', {}, async ({ fs }) => {
    t.is(await readFile(join(fs, 'out'), 'utf8'), '1\n');
  }));

test('a bind mount of the context sees only what .dockerignore lets through, as BuildKit transfers it; writes to it are dropped', async (t) => {
  const { root, cleanup } = await freshRoot();
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-parity-ignore-'));
  try {
    await mkdir(join(ctx, 'sub'));
    const files: Record<string, string> = { '.dockerignore': 'secret.txt\nsub/hidden\n*.log\n!keep.log\n', 'secret.txt': 's', 'a.txt': 'a', 'x.log': 'x', 'keep.log': 'k', 'sub/hidden': 'h', 'sub/shown': 'v' };
    for (const [name, data] of Object.entries(files)) await writeFile(join(ctx, name), data);
    await symlink('a.txt', join(ctx, 'ln'));
    await writeFile(
      join(ctx, 'Dockerfile'),
      [
        'FROM busybox',
        'RUN --mount=type=bind,target=/src ls -A /src > /o-all && ls -A /src/sub > /o-sub && cat /src/ln > /o-ln',
        'RUN --mount=type=bind,source=sub,target=/s ls -A /s > /o-s',
        'RUN --mount=type=bind,source=a.txt,target=/f cat /f > /o-f',
        'RUN --mount=type=bind,target=/w,rw touch /w/new && ls /w/new > /o-w',
      ].join('\n'),
    );
    await tracedBuild({ ...(await dockerfileOptions(root, ctx)), tags: ['parity'] });
    const fs = await rootfsOf(root, 'parity');
    t.is(await readFile(join(fs, 'o-all'), 'utf8'), '.dockerignore\nDockerfile\na.txt\nkeep.log\nln\nsub\n');
    t.is(await readFile(join(fs, 'o-sub'), 'utf8'), 'shown\n');
    t.is(await readFile(join(fs, 'o-ln'), 'utf8'), 'a');
    t.is(await readFile(join(fs, 'o-s'), 'utf8'), 'shown\n');
    t.is(await readFile(join(fs, 'o-f'), 'utf8'), 'a');
    t.is(await readFile(join(fs, 'o-w'), 'utf8'), '/w/new\n');
    await t.throwsAsync(stat(join(ctx, 'new')), { code: 'ENOENT' }, 'the context is left as it was');
  } finally {
    await rm(ctx, { recursive: true, force: true });
    await cleanup();
  }
});
