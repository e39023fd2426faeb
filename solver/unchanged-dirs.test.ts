import test, { type ExecutionContext } from 'ava';
import { chmod, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsXattr, OPAQUE_XATTR } from '../common/fs-xattr.js';
import { dropUnchangedDirs } from './unchanged-dirs.js';

async function dirs(root: string, paths: string[], mode = 0o755): Promise<void> {
  for (const p of paths) {
    await mkdir(join(root, p), { recursive: true });
    await chmod(join(root, p), mode);
  }
}

/** A base and a middle lower dir and an upper dir, in a temp dir removed after the test. */
async function layerDirs(t: ExecutionContext): Promise<{ base: string; middle: string; upper: string }> {
  const top = await mkdtemp(join(tmpdir(), 'kiln-unchanged-'));
  t.teardown(() => rm(top, { recursive: true, force: true }));
  return { base: join(top, 'base'), middle: join(top, 'middle'), upper: join(top, 'upper') };
}

test('directories a RUN only copied up (emptied again, or only their times changed) leave its layer; those that hold a change stay', async (t) => {
  const { base, middle, upper } = await layerDirs(t);
  await dirs(base, ['var/cache', 'etc', 'home', 'opq', 'moded', 'usr/share']);
  await dirs(base, ['tmp'], 0o777);
  await dirs(middle, ['usr/share/doc']);
  await dirs(upper, ['var/cache', 'etc', 'home', 'opq', 'moded', 'usr/share/doc', 'newdir']);
  await dirs(upper, ['tmp'], 0o777);
  await chmod(join(upper, 'moded'), 0o700);
  await writeFile(join(upper, 'etc', 'f'), 'changed');
  await utimes(join(upper, 'tmp'), 2_000_000, 2_000_000);
  fsXattr().setAttributeSync(join(upper, 'opq'), OPAQUE_XATTR, 'y');

  dropUnchangedDirs(upper, [base, middle]);

  t.deepEqual((await readdir(upper)).sort(), ['etc', 'moded', 'newdir', 'opq']);
  t.deepEqual(await readdir(join(upper, 'etc')), ['f']);
});

test('a directory whose extended attributes differ from the one below stays', async (t) => {
  const { base, upper } = await layerDirs(t);
  await dirs(base, ['a', 'b']);
  await dirs(upper, ['a', 'b']);
  fsXattr().setAttributeSync(join(upper, 'a'), 'user.kiln-test', 'x');

  dropUnchangedDirs(upper, [base]);

  t.deepEqual(await readdir(upper), ['a']);
});

test('what an opaque directory holds is all new, so a directory in it stays even where the layers below have one like it', async (t) => {
  const { base, upper } = await layerDirs(t);
  await dirs(base, ['etc/ssl', 'opt/x']);
  await dirs(upper, ['etc/ssl', 'opt/x/y']);
  fsXattr().setAttributeSync(join(upper, 'etc'), OPAQUE_XATTR, 'y');

  dropUnchangedDirs(upper, [base]);

  t.deepEqual((await readdir(upper)).sort(), ['etc', 'opt']);
  t.deepEqual(await readdir(join(upper, 'etc')), ['ssl'], 'the opaque /etc hides the lower one: its ssl is a new, empty directory');
  t.deepEqual(await readdir(join(upper, 'opt', 'x')), ['y'], 'a directory the layers below lack is new');
});
