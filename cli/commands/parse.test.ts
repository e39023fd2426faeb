import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const kiln = (args: string[], options: { cwd?: string; input?: string } = {}) =>
  spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(root, 'cli', 'main.ts'), ...args], { encoding: 'utf8', cwd: options.cwd ?? root, input: options.input });

test('kiln parse prints the demo Dockerfile in BuildKit dump format', (t) => {
  const r = kiln(['parse', 'fixtures/dockerfiles/demo/Dockerfile']);
  t.is(r.status, 0, r.stderr);
  t.is(
    r.stdout,
    [
      '(arg "BUSYBOX=busybox:latest")',
      '(from "${BUSYBOX}" "AS" "build")',
      '(arg "GREETING=\\"hello from kiln\\"")',
      '(env "OUT" "/out" "=")',
      '(workdir "/src")',
      '(run ["--mount=type=cache,target=/cache"] "mkdir -p \\"$OUT\\" &&     echo \\"$GREETING\\" > /cache/greeting && cp /cache/greeting \\"$OUT/greeting\\"")',
      '(run "<<EOF")',
      '(from "${BUSYBOX}")',
      '(copy ["--from=build"] "/out/" "/srv/")',
      '(env "PATH" "/srv:$PATH" "=")',
      '(cmd "cat" "/srv/greeting" "/srv/info")',
      '',
    ].join('\n'),
  );
});

test('kiln parse reads ./Dockerfile by default and - from stdin; warnings go to stderr', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-parse-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nMAINTAINER me\n');
  const r = kiln(['parse'], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, '(from "busybox")\n(maintainer "me")\n');
  t.is(r.stderr, 'Dockerfile:2:1: warning: Maintainer instruction is deprecated in favor of using label [MaintainerDeprecated]\n');
  const s = kiln(['parse', '-'], { input: 'FROM a\nRUN b\n' });
  t.is(s.stdout, '(from "a")\n(run "b")\n');
});

test('kiln parse --json prints the typed AST with positions', (t) => {
  const r = kiln(['parse', '--json', '-'], { input: 'FROM a AS b\nRUN --network=none x\n' });
  t.is(r.status, 0, r.stderr);
  const ast = JSON.parse(r.stdout) as { instructions: { kind: string; range: { start: { line: number } } }[]; nodes: unknown[] };
  t.deepEqual(ast.instructions.map((i) => [i.kind, i.range.start.line]), [['from', 1], ['run', 2]]);
  t.like(ast.instructions[1], { command: { form: 'shell', text: 'x' }, network: 'none' });
  t.is(ast.nodes.length, 2);
});

test('kiln parse errors: FILE:LINE:COL, the line with a caret, exit code 1, no stack trace', (t) => {
  const r = kiln(['parse', '--check', '-'], { input: 'FROM a\nCOPY --bogus x y\n' });
  t.is(r.status, 1);
  t.is(r.stdout, '');
  t.is(r.stderr, '-:2:6: Unknown flag: bogus\n  COPY --bogus x y\n       ^\n');
  const missing = kiln(['parse', join(tmpdir(), 'no-such-dir', 'Dockerfile')]);
  t.is(missing.status, 1);
  t.regex(missing.stderr, /^kiln: cannot read Dockerfile/);
});

test('kiln parse stops at BuildKit parser level unless --check is given', (t) => {
  const input = 'FROM a\nHEALTHCHECK\nCOPY --user=me a b\n';
  const r = kiln(['parse', '-'], { input });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, '(from "a")\n(healthcheck)\n(copy ["--user=me"] "a" "b")\n');
  t.regex(r.stderr, /^-:2:1: warning: .*kiln build would reject this/);
  const checked = kiln(['parse', '--check', '-'], { input });
  t.is(checked.status, 1);
  t.regex(checked.stderr, /^-:2:1: /);
});

test('kiln parse fails on what BuildKit\'s parser rejects, with a position', (t) => {
  const r = kiln(['parse', '-'], { input: 'FROM a\nENV PATH\n' });
  t.is(r.status, 1);
  t.regex(r.stderr, /^-:2:\d+: /);
});
