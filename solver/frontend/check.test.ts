import test from 'ava';
import { parseDockerfile } from '../../grammar/index.js';
import { buildWarnings, checkViolation } from './check.js';
import { planBuild } from './plan.js';

function planned(text: string, target?: string) {
  const parsed = parseDockerfile(text, { file: 'Dockerfile' });
  const plan = planBuild(parsed, { buildArgs: new Map(), automaticArgs: new Map(), source: text, namedContexts: new Set(), ...(target ? { target } : {}) });
  const warnings = buildWarnings(parsed, plan);
  return { warnings: warnings.map((w) => `${w.code}:${w.position.line}`), violation: checkViolation(parsed, warnings, text) };
}

test('check=error=true names the rules broken and points at the first break', (t) => {
  const { violation } = planned('# check=error=true\nFROM busybox as base\nMAINTAINER me\nFROM base AS Two\n');
  t.is(violation?.code, 'E_BUILD_LINT');
  t.is(violation?.message, 'lint violation found for rules: FromAsCasing, MaintainerDeprecated, StageNameCasing');
  t.deepEqual(violation?.position, { file: 'Dockerfile', line: 2, column: 1 });
  t.is(violation?.sourceLine, 'FROM busybox as base');
});

test('without error=true, or with every broken rule skipped, checks only warn', (t) => {
  t.is(planned('FROM busybox as base\n').violation, undefined);
  t.is(planned('# check=error=false\nFROM busybox as base\n').violation, undefined);
  t.is(planned('# check=skip=FromAsCasing;error=true\nFROM busybox as base\n').violation, undefined);
  t.is(planned('# check=skip=all;error=true\nFROM busybox as base\n').violation, undefined);
  t.is(planned('# check=error=true\nFROM busybox AS base\nCMD ["true"]\n').violation, undefined);
});

test('checks BuildKit runs while dispatching count only in the stages the build runs', (t) => {
  const text = 'FROM busybox AS unused\nENV a b\nCMD echo unused\nFROM busybox AS used\nCMD echo used\n';
  t.deepEqual(planned(text).warnings, ['JSONArgsRecommended:5']);
  t.deepEqual(planned(text, 'unused').warnings, ['LegacyKeyValueFormat:2', 'JSONArgsRecommended:3']);
  t.is(planned(`# check=error=true\n${text.replace('CMD echo used', 'CMD ["used"]')}`).violation, undefined, 'an unused stage breaks no build');
});

test('JSONArgsRecommended is not raised where a SHELL is in force, in the stage or one it is built from', (t) => {
  t.deepEqual(planned('FROM busybox\nSHELL ["/bin/sh", "-ec"]\nCMD echo hi\n').warnings, []);
  t.deepEqual(planned('FROM busybox\nCMD echo hi\nSHELL ["/bin/sh", "-ec"]\n').warnings, ['JSONArgsRecommended:2'], 'a SHELL below does not count');
  t.deepEqual(planned('FROM busybox AS base\nSHELL ["/bin/sh", "-c"]\nFROM base\nENTRYPOINT echo hi\n').warnings, []);
});

test("kiln's own warnings are reported but fail no build", (t) => {
  const { warnings, violation } = planned('# check=error=true\nFROM busybox\n# escape=`\nRUN true\n');
  t.deepEqual(warnings, ['InvalidDirectivePosition:3']);
  t.is(violation, undefined);
});
