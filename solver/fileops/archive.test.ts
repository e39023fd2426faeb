import test from 'ava';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBomb } from '../../oci/layer/bomb-support.js';
import { add, FileOpError } from './index.js';

// ADD extracts into a scratch dir under the temp dir: a private one shows whether it was left behind.
const base = await mkdtemp(join(tmpdir(), 'kiln-add-bomb-'));
process.env.TMPDIR = join(base, 'tmp');
process.env.KILN_EXTRACT_MAX_BYTES = String(2 * 1024 * 1024);
test.after.always(() => rm(base, { recursive: true, force: true }));

for (const compression of ['gzip', 'zstd'] as const) {
  // Serial: both share TMPDIR, and each checks that its scratch dir is gone from it.
  test.serial(`ADD of a ${compression} bomb fails at the size limit and leaves nothing behind`, async (t) => {
    const src = join(base, `src-${compression}`);
    const dst = join(base, `dst-${compression}`);
    await mkdir(src, { recursive: true });
    await mkdir(dst, { recursive: true });
    await mkdir(process.env.TMPDIR!, { recursive: true });
    await writeBomb(join(src, 'bomb.tar'), { compression, zeroBytes: 32 * 1024 * 1024 });
    const err = await t.throwsAsync(add({ sourceRoot: src, destRoot: dst, workdir: '/', sources: ['bomb.tar'], dest: '/opt/' }), { instanceOf: FileOpError });
    t.is(err?.code, 'E_ADD_ARCHIVE');
    t.regex(err!.message, /ADD bomb\.tar: cannot extract archive: the archive expands to more than 2097152 bytes/);
    t.regex(err!.hint ?? '', /KILN_EXTRACT_MAX_BYTES.*COPY/);
    t.deepEqual(await readdir(dst), [], 'nothing reached the destination');
    t.deepEqual(await readdir(process.env.TMPDIR!), [], 'the scratch dir is gone');
  });
}
