import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { discardTree } from './discard.js';
import { openStore } from './index.js';

async function gone(path: string): Promise<boolean> {
  for (let i = 0; i < 200 && existsSync(path); i++) await sleep(25);
  return !existsSync(path);
}

test('a discarded tree leaves its place at once and is deleted in the background', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'kiln-discard-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const s = await openStore(root);
  t.teardown(() => s.close());
  const dir = join(root, 'tmp', 'upper');
  await mkdir(join(dir, 'a/b'), { recursive: true });
  for (let i = 0; i < 50; i++) await writeFile(join(dir, 'a/b', `f${i}`), 'x');
  await discardTree(s.layout, dir);
  t.false(existsSync(dir));
  const trash = (await readdir(join(root, 'tmp'))).filter((n) => n.includes('.trash.'));
  t.true(trash.length <= 1);
  if (trash.length === 1) t.true(await gone(join(root, 'tmp', trash[0]!)));
});

test('opening the store hands trash left by a dead process to a background rm', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'kiln-discard-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  (await openStore(root)).close();
  // pid 2^22+1 is above Linux's pid_max limit, so never a live process.
  const left = join(root, 'tmp', '4194305.trash.abc');
  await mkdir(join(left, 'deep/er'), { recursive: true });
  await writeFile(join(left, 'deep/er/file'), 'x');
  (await openStore(root)).close();
  t.true(await gone(left));
});
