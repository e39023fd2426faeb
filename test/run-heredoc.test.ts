/**
 * RUN heredocs as BuildKit's dispatchRun runs them: `RUN <<NAME` alone runs the body (a `#!` body
 * as an executable file at /dev/pipes/NAME, read by its interpreter), `<<-` strips leading tabs,
 * and a script's content is part of the step's cache key.
 */
import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshRoot, kiln, rootfsOf } from './build-helpers.js';

async function build(root: string, dockerfile: string, tag: string): Promise<(path: string) => Promise<string>> {
  const ctx = await mkdtemp(join(tmpdir(), 'kiln-heredoc-'));
  try {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    const r = await kiln(root, ['build', '--progress', 'plain', '-t', tag, ctx]);
    if (r.code !== 0) throw new Error(r.stderr);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
  const fs = await rootfsOf(root, tag);
  return (path) => readFile(join(fs, path), 'utf8');
}

test('RUN heredocs: shebang bodies run as files, <<- strips tabs, any single word names the body', async (t) => {
  const { root, cleanup } = await freshRoot();
  try {
    const read = await build(
      root,
      [
        'FROM busybox',
        // $0 is the file the kernel ran: the body is not the shell's script.
        'RUN <<EOF',
        '#!/bin/sh',
        'echo "$0" > /shebang',
        'EOF',
        'RUN <<-EOF',
        "\tprintf 'x",
        "\ty' > /chomped",
        '\tEOF',
        'RUN <<my-script',
        'echo dashed > /dashed',
        'my-script',
        'RUN <<EOF cat > /via-shell',
        'read by the shell',
        'EOF',
        'USER nobody',
        'RUN <<EOF',
        '#!/bin/sh',
        'id -u > /tmp/uid',
        'EOF',
        '',
      ].join('\n'),
      'heredoc:1',
    );
    t.is(await read('shebang'), '/dev/pipes/EOF\n');
    t.is(await read('chomped'), 'x\ny');
    t.is(await read('dashed'), 'dashed\n');
    t.is(await read('via-shell'), 'read by the shell\n');
    t.is(await read('tmp/uid'), '65534\n');

    // Same step, same name, another body: not the cached result of the first.
    const again = await build(root, ['FROM busybox', 'RUN <<EOF', '#!/bin/sh', 'echo two > /shebang', 'EOF', ''].join('\n'), 'heredoc:2');
    t.is(await again('shebang'), 'two\n');
  } finally {
    await cleanup();
  }
});
