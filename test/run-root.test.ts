/**
 * Where a RUN container's rootfs is mounted: by runc, in the container's own mount namespace,
 * when nothing has to be made in it first; on the host, as before, when something does (a
 * missing working dir, a RUN --mount's mount point). Both give the image the Dockerfile means.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshRoot, kiln, rootfsOf } from './build-helpers.js';

/**
 * Builds `dockerfile` while watching the host's mount table for overlays under the state root.
 * `hostOverlays` counts those mounted for at least 200 ms: the RUNs here sleep 0.5 s, while a
 * WORKDIR's snapshot, mounted on the host to make the dir, is there for milliseconds.
 */
async function buildWatchingMounts(root: string, dockerfile: string, tag: string): Promise<{ hostOverlays: number; read: (path: string) => Promise<string>; fs: string }> {
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-run-root-'));
  const polls = new Map<string, number>();
  const watch = setInterval(() => {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const point = line.split(' ')[4];
      if (point?.startsWith(root) && line.includes(' - overlay ')) polls.set(point, (polls.get(point) ?? 0) + 1);
    }
  }, 10);
  try {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    const r = await kiln(root, ['build', '--progress', 'plain', '-t', tag, ctx]);
    if (r.code !== 0) throw new Error(r.stderr);
  } finally {
    clearInterval(watch);
    await rm(ctx, { recursive: true, force: true });
  }
  const fs = await rootfsOf(root, tag);
  const hostOverlays = [...polls.values()].filter((n) => n >= 20).length;
  return { hostOverlays, read: (path) => readFile(join(fs, path), 'utf8'), fs };
}

test('RUN steps that need nothing prepared run on a rootfs the host never mounts', async (t) => {
  const { root, cleanup } = await freshRoot();
  try {
    const { hostOverlays, read, fs } = await buildWatchingMounts(
      root,
      [
        'FROM busybox',
        'RUN sleep 0.5 && echo a > /a',
        'WORKDIR /app',
        'RUN pwd > /tmp/pwd; sleep 0.5',
        // Mount points that exist in the image, or in the container's own /dev (a #! heredoc's file).
        'RUN --mount=type=tmpfs,target=/home touch /home/gone && ls /home > /tmp/home; sleep 0.5',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo "$0" > /tmp/script; sleep 0.5',
        'EOF',
        'USER nobody',
        'RUN id > /tmp/id; sleep 0.5',
      ].join('\n'),
      'run-root:direct',
    );
    t.is(hostOverlays, 0);
    t.is(await read('a'), 'a\n');
    t.is(await read('tmp/pwd'), '/app\n');
    t.is(await read('tmp/home'), 'gone\n');
    await t.throwsAsync(stat(join(fs, 'home', 'gone')), { code: 'ENOENT' });
    t.is(await read('tmp/script'), '/dev/pipes/EOF\n');
    t.is(await read('tmp/id'), 'uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n');
  } finally {
    await cleanup();
  }
});

test('a RUN whose working dir is gone, or with a mount, runs on a host-mounted rootfs as before', async (t) => {
  const { root, cleanup } = await freshRoot();
  try {
    const { hostOverlays, read, fs } = await buildWatchingMounts(
      root,
      [
        'FROM busybox',
        'WORKDIR /w',
        'RUN rm -rf /w',
        'USER nobody',
        // The working dir is made again, owned by the RUN's user, before the command runs.
        'RUN pwd > /tmp/pwd; sleep 0.5',
        'USER root',
        'RUN --mount=type=tmpfs,target=/scratch/t ls -d /scratch/t > /tmp/mounted; sleep 0.5',
      ].join('\n'),
      'run-root:host',
    );
    t.is(hostOverlays, 2);
    t.is(await read('tmp/pwd'), '/w\n');
    t.is((await stat(join(fs, 'w'))).uid, 65534);
    t.is(await read('tmp/mounted'), '/scratch/t\n');
    // The mount point made for the RUN --mount is gone again.
    await t.throwsAsync(stat(join(fs, 'scratch')), { code: 'ENOENT' });
  } finally {
    await cleanup();
  }
});

test("a state root whose path has overlay's separators in it still runs RUN steps", async (t) => {
  const { root, cleanup } = await freshRoot();
  const odd = `${root},with:odd`;
  await rename(root, odd);
  try {
    const { hostOverlays, read } = await buildWatchingMounts(odd, ['FROM busybox', 'RUN echo a > /a; sleep 0.5'].join('\n'), 'run-root:odd');
    t.is(hostOverlays, 1, 'only relative paths from the snapshot dir can name its layers');
    t.is(await read('a'), 'a\n');
  } finally {
    await rm(odd, { recursive: true, force: true });
    await cleanup();
  }
});
