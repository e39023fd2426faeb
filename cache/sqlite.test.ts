import test from 'ava';
import { execFileSync } from 'node:child_process';

test("a connection loads better-sqlite3's addon from its package, without the bindings package", (t) => {
  const script = [
    "const { createRequire } = await import('node:module');",
    'const require = createRequire(import.meta.url);',
    "const loaded = (part) => Object.keys(require.cache).filter((k) => k.includes(part));",
    `const { openSqlite } = await import(${JSON.stringify(new URL('./sqlite.ts', import.meta.url).href)});`,
    'const db = openSqlite(":memory:");',
    "const answer = db.prepare('SELECT 6 * 7 AS n').get().n;",
    'db.close();',
    "console.log(JSON.stringify({ answer, bindings: loaded('/node_modules/bindings/').length, addon: loaded('better_sqlite3.node').length }));",
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { encoding: 'utf8' });
  t.deepEqual(JSON.parse(out), { answer: 42, bindings: 0, addon: 1 });
});
