import test from 'ava';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerfileOptions, freshRoot, rootfsOf, tracedBuild } from './build-helpers.js';

// Builds whose result BuildKit defines beyond what the instructions say on their own.

async function buildDockerfile(root: string, dockerfile: string, files: Record<string, string> = {}) {
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-parity-'));
  try {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    for (const [name, data] of Object.entries(files)) await writeFile(join(ctx, name), data);
    return await tracedBuild({ ...(await dockerfileOptions(root, ctx)), tags: ['parity'] });
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

test('a stage built FROM another stage keeps its ARGs in scope, and a value-less ARG keeps the value it has', async (t) => {
  const { root, cleanup } = await freshRoot();
  try {
    const { result } = await buildDockerfile(
      root,
      ['ARG V=1', 'FROM busybox AS base', 'ARG V', 'ARG W=w1', 'FROM base', 'ARG W', 'RUN echo "$V $W" > /out'].join('\n'),
    );
    t.is(await readFile(join(await rootfsOf(root, 'parity'), 'out'), 'utf8'), '1 w1\n');
    const history = result.config.history!.map((h) => h.created_by);
    t.true(history.includes('ARG W'));
    t.is(history.at(-1), 'RUN |2 V=1 W=w1 /bin/sh -c echo "$V $W" > /out # buildkit');
  } finally {
    await cleanup();
  }
});

test('RUN <<EOF with a #! body runs it as a file at /dev/pipes/NAME; <<- strips tabs of a lone heredoc', async (t) => {
  const { root, cleanup } = await freshRoot();
  try {
    const { result } = await buildDockerfile(
      root,
      'FROM busybox\nUSER nobody\nRUN <<EOF\n#!/bin/sh\necho "$0" > /tmp/self\nEOF\nRUN <<-EOT\n\techo tabbed > /tmp/tab\n\tEOT\nRUN cat > /tmp/b <<B && cat > /tmp/c <<C\nbee\nB\nsea\nC\n',
    );
    const fs = await rootfsOf(root, 'parity');
    t.is(await readFile(join(fs, 'tmp/self'), 'utf8'), '/dev/pipes/EOF\n');
    t.is(await readFile(join(fs, 'tmp/tab'), 'utf8'), 'tabbed\n');
    t.is(await readFile(join(fs, 'tmp/c'), 'utf8'), 'sea\n');
    const history = result.config.history!.map((h) => h.created_by);
    t.deepEqual(history.slice(-3), [
      'RUN /bin/sh -c /dev/pipes/EOF # buildkit',
      'RUN /bin/sh -c echo tabbed > /tmp/tab\n # buildkit',
      // Several heredocs: the line, then "\n" + body + delimiter for each, no final newline.
      'RUN /bin/sh -c cat > /tmp/b <<B && cat > /tmp/c <<C\nbee\nB\nsea\nC # buildkit',
    ]);
  } finally {
    await cleanup();
  }
});

test('RUN containers are called buildkitsandbox, in hostname and /etc/hosts', async (t) => {
  const { root, cleanup } = await freshRoot();
  try {
    await buildDockerfile(root, 'FROM busybox\nRUN hostname > /hn && cat /etc/hosts > /hosts\n');
    const fs = await rootfsOf(root, 'parity');
    t.is(await readFile(join(fs, 'hn'), 'utf8'), 'buildkitsandbox\n');
    t.is(await readFile(join(fs, 'hosts'), 'utf8'), '127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  } finally {
    await cleanup();
  }
});

test('a RUN whose working directory is missing makes it, owned by the RUN user', async (t) => {
  const { root, cleanup } = await freshRoot();
  try {
    await buildDockerfile(root, 'FROM busybox\nWORKDIR /gone/deep\nRUN rm -r /gone\nUSER nobody\nRUN pwd > /tmp/pwd\n');
    const fs = await rootfsOf(root, 'parity');
    t.is(await readFile(join(fs, 'tmp/pwd'), 'utf8'), '/gone/deep\n');
    for (const dir of ['gone', 'gone/deep']) {
      const st = await stat(join(fs, dir));
      t.deepEqual([st.uid, st.gid, st.mode & 0o7777], [65534, 65534, 0o755], dir);
    }
  } finally {
    await cleanup();
  }
});

test('an image FROM scratch has WorkingDir / and the default PATH, as BuildKit emptyImage', async (t) => {
  const { root, cleanup } = await freshRoot();
  try {
    const { result } = await buildDockerfile(root, 'FROM scratch\nCOPY f /f\n', { f: 'x' });
    t.is(result.config.config!.WorkingDir, '/');
    t.deepEqual(result.config.config!.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  } finally {
    await cleanup();
  }
});

test('a USER or --chown name missing from /etc/passwd is root, as BuildKit readUser, not an error', async (t) => {
  const { root, cleanup } = await freshRoot();
  try {
    await buildDockerfile(root, 'FROM busybox\nUSER ghost\nWORKDIR /w\nCOPY --chown=ghost:nogroup f /f\n', { f: 'x' });
    const fs = await rootfsOf(root, 'parity');
    const w = await stat(join(fs, 'w'));
    t.deepEqual([w.uid, w.gid], [0, 0]);
    const f = await stat(join(fs, 'f'));
    t.deepEqual([f.uid, f.gid], [0, 65534]);
  } finally {
    await cleanup();
  }
});
