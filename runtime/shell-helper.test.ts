import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkedViaShell } from './shell-helper.js';

test('arguments reach the program verbatim, in the given directory, and output comes back', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "kiln shell 'helper' "));
  try {
    const odd = `it's "$HOME" \`x\` $(id) ; \\ *`;
    t.is(await checkedViaShell('E_X', 'printf', 'printf', ['%s|', odd, 'b c']), `${odd}|b c|`);
    t.is((await checkedViaShell('E_X', 'pwd', 'pwd', [], { cwd: dir })).trim(), dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a failing program becomes a KilnError with its message; later commands still run', async (t) => {
  const e = await t.throwsAsync(checkedViaShell('E_TEST_FAIL', 'cannot list', 'ls', ['/nonexistent-kiln-path']));
  t.is((e as { code?: string }).code, 'E_TEST_FAIL');
  t.regex(e!.message, /^cannot list: .*nonexistent-kiln-path/);
  t.is(await checkedViaShell('E_X', 'echo', 'echo', ['ok']), 'ok\n');
});

test('commands issued together each get their own result', async (t) => {
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => checkedViaShell('E_X', 'echo', 'echo', [String(i)])));
  t.deepEqual(results, Array.from({ length: 8 }, (_, i) => `${i}\n`));
});

test('an idle helper does not keep the process alive', (t) => {
  const here = dirname(fileURLToPath(import.meta.url));
  const script = `import { checkedViaShell } from ${JSON.stringify(join(here, 'shell-helper.ts'))}; process.stdout.write(await checkedViaShell('E_X', 'echo', 'echo', ['done']));`;
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  t.is(r.error, undefined);
  t.is(r.status, 0);
  t.is(r.stdout, 'done\n');
});
