import test from 'ava';
import { parseDockerfile } from '../../grammar/index.js';
import { buildWarnings, checkArg, checkViolation } from './check.js';
import { planBuild } from './plan.js';

function planned(text: string, target?: string, arg?: string) {
  const check = checkArg(arg === undefined ? undefined : new Map([['BUILDKIT_DOCKERFILE_CHECK', arg]]));
  const parsed = parseDockerfile(text, { file: 'Dockerfile', ...(check ? { check } : {}) });
  const plan = planBuild(parsed, { buildArgs: new Map(), automaticArgs: new Map(), source: text, namedContexts: new Set(), ...(target ? { target } : {}) });
  const warnings = buildWarnings(parsed, plan);
  return { warnings: warnings.map((w) => `${w.code}:${w.position.line}`), violation: checkViolation(check ?? parsed.directives.check, warnings, text) };
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

test('the BUILDKIT_DOCKERFILE_CHECK build arg stands in for the # check directive, as in BuildKit', (t) => {
  const text = 'FROM busybox as base\nCMD echo hi\n';
  t.is(planned(text, undefined, 'error=true').violation?.message, 'lint violation found for rules: FromAsCasing, JSONArgsRecommended');
  t.deepEqual(planned(text, undefined, 'skip=FromAsCasing').warnings, ['JSONArgsRecommended:2']);
  t.is(planned(`# check=error=true\n${text}`, undefined, 'skip=all;error=true').violation, undefined, 'the arg wins over the directive');
  t.is(planned(`# check=error=true\n${text}`, undefined, 'error=false').violation, undefined);
  t.throws(() => planned(text, undefined, 'error=maybe'), { code: 'E_BUILD_OPTION', message: /^invalid BUILDKIT_DOCKERFILE_CHECK "error=maybe": failed to parse check option "error=maybe"/ });
});
