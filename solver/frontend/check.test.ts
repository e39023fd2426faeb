import test from 'ava';
import { parseDockerfile } from '../../grammar/index.js';
import { checkViolation } from './check.js';

const violation = (text: string) => checkViolation(parseDockerfile(text, { file: 'Dockerfile' }), text);

test('check=error=true names the rules broken and points at the first break', (t) => {
  const err = violation('# check=error=true\nFROM busybox as base\nMAINTAINER me\nFROM base AS Two\n');
  t.is(err?.code, 'E_BUILD_LINT');
  t.is(err?.message, 'lint violation found for rules: FromAsCasing, MaintainerDeprecated, StageNameCasing');
  t.deepEqual(err?.position, { file: 'Dockerfile', line: 2, column: 1 });
  t.is(err?.sourceLine, 'FROM busybox as base');
});

test('without error=true, or with every broken rule skipped, checks only warn', (t) => {
  t.is(violation('FROM busybox as base\n'), undefined);
  t.is(violation('# check=error=false\nFROM busybox as base\n'), undefined);
  t.is(violation('# check=skip=FromAsCasing;error=true\nFROM busybox as base\n'), undefined);
  t.is(violation('# check=skip=all;error=true\nFROM busybox as base\n'), undefined);
  t.is(violation('# check=error=true\nFROM busybox AS base\nCMD ["true"]\n'), undefined);
});

test("kiln's own warnings that are no BuildKit rule do not fail the build", (t) => {
  const text = '# check=error=true\nFROM busybox\n# escape=`\nRUN true\n';
  t.true(parseDockerfile(text, { file: 'Dockerfile' }).warnings.some((w) => w.code === 'InvalidDirectivePosition'));
  t.is(violation(text), undefined);
});
