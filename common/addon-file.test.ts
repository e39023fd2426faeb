import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonFile } from './addon-file.js';

test('an addon is found in the nearest node_modules holding its package, as Node resolves it', async (t) => {
  const top = await mkdtemp(join(tmpdir(), 'kiln-addon-'));
  t.teardown(() => rm(top, { recursive: true, force: true }));
  const code = join(top, 'app', 'dist', 'bundle', 'main.cjs');
  await mkdir(join(top, 'app', 'dist', 'bundle'), { recursive: true });
  await mkdir(join(top, 'node_modules', 'pkg', 'build', 'Release'), { recursive: true });
  await writeFile(join(top, 'node_modules', 'pkg', 'package.json'), '{}');
  await writeFile(join(top, 'node_modules', 'pkg', 'build', 'Release', 'a.node'), '');
  t.is(addonFile('pkg', 'build/Release/a.node', 'pkg/package.json', code), join(top, 'node_modules', 'pkg', 'build', 'Release', 'a.node'));
  // A directory of that name that holds no package is passed over, as Node does.
  await mkdir(join(top, 'app', 'node_modules', 'pkg'), { recursive: true });
  t.is(addonFile('pkg', 'build/Release/a.node', 'pkg/package.json', code), join(top, 'node_modules', 'pkg', 'build', 'Release', 'a.node'));
  // A nearer package is the one Node loads, built or not.
  await writeFile(join(top, 'app', 'node_modules', 'pkg', 'package.json'), '{}');
  t.is(addonFile('pkg', 'build/Release/a.node', 'pkg/package.json', code), undefined);
  t.is(addonFile('nosuch', 'build/Release/a.node', 'nosuch/package.json', code), undefined);
});

test("kiln's own addons are found where npm installed them", (t) => {
  t.regex(addonFile('better-sqlite3', 'build/Release/better_sqlite3.node', 'better-sqlite3/package.json') ?? '', /node_modules\/better-sqlite3\/build\/Release\/better_sqlite3\.node$/);
  t.regex(addonFile('fs-xattr', 'build/Release/xattr.node', 'fs-xattr') ?? '', /node_modules\/fs-xattr\/build\/Release\/xattr\.node$/);
});
