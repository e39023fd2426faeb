import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expandWord, expandWords } from './index.js';

// CI clones the repository with shared/ beside it: <root>/../shared/conformance.
const dataDir = fileURLToPath(new URL('../../../shared/conformance/buildkit/shell/', import.meta.url));

function readLines(name: string): string[] {
  return readFileSync(dataDir + name, 'utf8').split(/\r?\n/);
}

function run(fn: () => string): string {
  try {
    return fn();
  } catch (err) {
    return `error (${(err as Error).message})`;
  }
}

// envVarTest: PLATFORM|INPUT|EXPECTED, env PWD=/home SHELL=bash KOREAN=한국어 NULL=, escape \ ; run A and U.
const envVarEnv = new Map([
  ['PWD', '/home'],
  ['SHELL', 'bash'],
  ['KOREAN', '한국어'],
  ['NULL', ''],
]);
readLines('envVarTest').forEach((raw, index) => {
  if (raw.startsWith('#')) return;
  const line = raw.trim();
  if (line === '') return;
  const fields = line.split('|');
  if (fields.length !== 3) {
    test(`envVarTest:${index + 1}: malformed line ${line}`, (t) => t.fail('expected PLATFORM|INPUT|EXPECTED'));
    return;
  }
  const [platform, input, expected] = fields.map((f) => f.trim()) as [string, string, string];
  if (platform !== 'A' && platform !== 'U') return;
  test(`envVarTest:${index + 1}: ${input} -> ${expected === '' ? '""' : expected}`, (t) => {
    if (expected === 'error') {
      t.throws(() => expandWord(input, envVarEnv), undefined, `${input} must fail`);
    } else {
      t.is(run(() => expandWord(input, envVarEnv)), expected, input);
    }
  });
});

// wordsTest: `ENV name=value` lines extend the environment; INPUT|W1,W2,... or `error`.
{
  const env = new Map<string, string>();
  readLines('wordsTest').forEach((raw, index) => {
    if (raw.startsWith('#') || raw === '') return;
    if (raw.startsWith('ENV ')) {
      const assignment = raw.slice(3).replace(/^ +/, '');
      const eq = assignment.indexOf('=');
      if (eq < 0) env.set(assignment, '');
      else env.set(assignment.slice(0, eq), assignment.slice(eq + 1));
      return;
    }
    const fields = raw.split('|');
    if (fields.length !== 2) {
      test(`wordsTest:${index + 1}: malformed line ${raw}`, (t) => t.fail('expected exactly one |'));
      return;
    }
    const input = fields[0]!.trim();
    const expected = fields[1]!.replace(/^ +/, '').split(',');
    const snapshot = new Map(env);
    test(`wordsTest:${index + 1}: ${input} -> ${JSON.stringify(expected)}`, (t) => {
      let actual: string[];
      try {
        actual = expandWords(input, snapshot);
      } catch {
        actual = ['error'];
      }
      t.deepEqual(actual, expected, input);
    });
  });
}
