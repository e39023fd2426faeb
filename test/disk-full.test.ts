/**
 * A state root on a small tmpfs (mounted here, unmounted after): a build that cannot fit fails
 * with a plain "no space left on <path>" (exit 1, no stack trace), and `kiln check` is clean
 * afterwards: the failed build removed its partial blobs and layer dirs and ended its session.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freshRoot, kiln } from './build-helpers.js';
import { startRegistry } from './registry-server.js';

const run = promisify(execFile);
const SIZE_MB = 24;

async function writeRandom(path: string, mb: number): Promise<void> {
  // Random bytes do not compress, so the layer blob is as big as the file.
  await writeFile(path, randomBytes(mb * 1024 * 1024));
}

test(`a build on a full ${SIZE_MB} MB state root fails with "no space left on <path>" and leaves the store consistent`, async (t) => {
  t.timeout(5 * 60_000);
  const dir = await mkdtemp(join(tmpdir(), 'kiln-disk-full-'));
  const mnt = join(dir, 'mnt');
  const ctx = join(dir, 'ctx');
  await mkdir(mnt);
  await mkdir(ctx);
  const base = await freshRoot();
  await run('mount', ['-t', 'tmpfs', '-o', `size=${SIZE_MB}m`, 'tmpfs', mnt]);
  try {
    const root = join(mnt, 'root');
    await cp(base.root, root, { recursive: true });
    // 14 MB fits in the step's upper dir, but not a second time as its layer blob.
    await writeRandom(join(ctx, 'big.bin'), 14);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY big.bin /big.bin\n');
    const blob = await kiln(root, ['build', '--progress', 'plain', ctx]);
    t.is(blob.code, 1, blob.stderr);
    t.regex(blob.stderr, new RegExp(`kiln: no space left on ${root}`));
    t.regex(blob.stderr, /hint: .*kiln prune/);
    t.notRegex(blob.stderr, /internal error|\n\s+at /);
    const after = await kiln(root, ['check']);
    t.is(after.code, 0, after.stdout + after.stderr);

    // Too big for the step itself: the COPY fails, positioned at its line.
    await writeRandom(join(ctx, 'big.bin'), SIZE_MB + 4);
    const copy = await kiln(root, ['build', '--progress', 'plain', ctx]);
    t.is(copy.code, 1, copy.stderr);
    t.regex(copy.stderr, /Dockerfile:2:1: .*no space left on/);
    t.notRegex(copy.stderr, /internal error|\n\s+at /);
    const again = await kiln(root, ['check']);
    t.is(again.code, 0, again.stdout + again.stderr);

    // An archive piped to kiln load is spooled into the state root first: too big for it.
    const load = await kiln(root, ['load'], randomBytes((SIZE_MB + 4) * 1024 * 1024).toString('latin1'));
    t.is(load.code, 1, load.stderr);
    t.regex(load.stderr, new RegExp(`kiln: no space left on ${root}`));
    t.notRegex(load.stderr, /internal error|\n\s+at /);
    const afterLoad = await kiln(root, ['check']);
    t.is(afterLoad.code, 0, afterLoad.stdout + afterLoad.stderr);

    // A pulled layer is written into the state root as it arrives: too big for it.
    const registry = await startRegistry();
    try {
      const big = await freshRoot();
      try {
        await writeRandom(join(ctx, 'big.bin'), SIZE_MB + 4);
        const image = `${registry.host}/disk/full:1`;
        const built = await kiln(big.root, ['build', '--progress', 'plain', '-t', image, '--push', ctx]);
        t.is(built.code, 0, built.stderr);
      } finally {
        await big.cleanup();
      }
      const pull = await kiln(root, ['pull', `${registry.host}/disk/full:1`]);
      t.is(pull.code, 1, pull.stderr);
      t.regex(pull.stderr, new RegExp(`kiln: no space left on ${root}`));
      t.notRegex(pull.stderr, /internal error|\n\s+at /);
      const afterPull = await kiln(root, ['check']);
      t.is(afterPull.code, 0, afterPull.stdout + afterPull.stderr);
    } finally {
      await registry.stop();
    }

    // Once there is room, the same root builds.
    await writeRandom(join(ctx, 'big.bin'), 2);
    const ok = await kiln(root, ['build', '--progress', 'plain', ctx]);
    t.is(ok.code, 0, ok.stderr);
  } finally {
    await run('umount', [mnt]).catch(() => run('umount', ['-l', mnt]));
    await base.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
});
