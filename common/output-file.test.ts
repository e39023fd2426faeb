import test from 'ava';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { KilnError, NoSpaceError } from './errors.js';
import { FileError } from './file-errors.js';
import { checkOutputDir, checkOutputFile, writeOutputFile } from './output-file.js';

async function scratch(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'kiln-output-file-'));
}

test('a file is written whole through a temp name beside it, which is gone after', async (t) => {
  const dir = await scratch();
  try {
    const path = join(dir, 'out.tar');
    await writeOutputFile(path, '-o', (out) => pipeline(Readable.from([Buffer.from('a'), Buffer.from('b')]), out));
    t.is(await readFile(path, 'utf8'), 'ab');
    await writeOutputFile(join(dir, 'iid'), '--iidfile', 'sha256:x');
    t.is(await readFile(join(dir, 'iid'), 'utf8'), 'sha256:x');
    t.deepEqual((await readdir(dir)).sort(), ['iid', 'out.tar']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a writer that fails leaves the old file untouched, no temp file, and its own error', async (t) => {
  const dir = await scratch();
  try {
    const path = join(dir, 'out.tar');
    await writeFile(path, 'old');
    const boom = new KilnError('E_TEST', 'the source broke');
    const err = await t.throwsAsync(
      writeOutputFile(path, '-o', async (out) => {
        out.write('partial');
        throw boom;
      }),
    );
    t.is(err, boom, 'what failed was the source, not the output');
    t.is(await readFile(path, 'utf8'), 'old');
    t.deepEqual(await readdir(dir), ['out.tar']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an output that fails while written is a KilnError naming the path, not a stream error', async (t) => {
  // /dev/full is a device, written in place: every write fails with ENOSPC.
  const err = await t.throwsAsync(writeOutputFile('/dev/full', '-o', (out) => pipeline(Readable.from([Buffer.alloc(1 << 20)]), out)));
  t.true(err instanceof NoSpaceError, String(err));
  t.is(err?.message, 'no space left on /dev/full');
  t.notRegex(err?.message ?? '', /ENOSPC|write/);
});

test('a directory, a missing parent and a parent that is a file are found before any writing', async (t) => {
  const dir = await scratch();
  try {
    await writeFile(join(dir, 'file'), 'x');
    const cases: [string, RegExp][] = [
      [dir, /^cannot write --iidfile .*: it is a directory$/],
      [join(dir, 'missing', 'iid'), /^cannot write --iidfile .*: directory .*missing does not exist$/],
      [join(dir, 'file', 'iid'), /^cannot write --iidfile .*: .*file is not a directory$/],
    ];
    for (const [path, message] of cases) {
      let called = false;
      const err = await t.throwsAsync(
        writeOutputFile(path, '--iidfile', async (out) => {
          called = true;
          out.end();
        }),
      );
      t.true(err instanceof FileError, path);
      t.is((err as FileError).code, 'E_FILE_WRITE');
      t.regex(err!.message, message);
      t.truthy((err as FileError).hint);
      t.false(called, 'nothing is written when the path cannot take it');
    }
    await t.throwsAsync(checkOutputDir(join(dir, 'file'), '--output dest='), { message: /dest=.*file: it exists and is not a directory$/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('missing parents are made when asked, as build -o does', async (t) => {
  const dir = await scratch();
  try {
    const path = join(dir, 'a', 'b', 'out.tar');
    await checkOutputFile(path, '--output dest=', { createParents: true });
    await writeOutputFile(path, '--output dest=', 'x', { createParents: true });
    t.is(await readFile(path, 'utf8'), 'x');
    await mkdir(join(dir, 'local'));
    await t.notThrowsAsync(checkOutputDir(join(dir, 'local'), '--output dest='));
    await t.notThrowsAsync(checkOutputDir(join(dir, 'new', 'dir'), '--output dest='));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
