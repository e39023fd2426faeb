/**
 * The built CLI remembers each Dockerfile's parse in the store (solver/frontend/parse-memo.ts)
 * and reads it back on the next build of the same text by the same bundle.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freshRootAndContext } from './build-helpers.js';
import { builtKiln } from './built-cli.js';

async function labels(root: string, image: string): Promise<string> {
  const r = await builtKiln(root, ['inspect', '--format', '{{json .Config.Labels}}', image]);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

test('a rebuild of the same Dockerfile uses the parse the first build stored', async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-parse-memo-');
  await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nLABEL made=first\n');
  const first = await builtKiln(root, ['build', '-t', 'memo:1', ctx]);
  t.is(first.code, 0, first.stderr);
  t.is(await labels(root, 'memo:1'), '{"made":"first"}');

  // Doctor the stored parse: if the next build of the same text shows it, that build read the store.
  const db = new Database(join(root, 'index.db'));
  try {
    const rows = db.prepare('SELECT key, value FROM dockerfile_parses').all() as { key: string; value: string }[];
    t.is(rows.length, 1);
    db.prepare('UPDATE dockerfile_parses SET value = ?').run(rows[0]!.value.replaceAll('first', 'stored'));
  } finally {
    db.close();
  }
  const again = await builtKiln(root, ['build', '-t', 'memo:2', ctx]);
  t.is(again.code, 0, again.stderr);
  t.is(await labels(root, 'memo:2'), '{"made":"stored"}');

  // Another text is parsed afresh.
  await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nLABEL made=second\n');
  const other = await builtKiln(root, ['build', '-t', 'memo:3', ctx]);
  t.is(other.code, 0, other.stderr);
  t.is(await labels(root, 'memo:3'), '{"made":"second"}');
});
