import test from 'ava';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openStore } from '../cache/index.js';
import { reportError } from '../cli/report-error.js';
import { build, newBuildId, subscribe, type VertexEvent } from '../solver/index.js';
import { dockerfileOptions, freshRootAndContext, kiln } from './build-helpers.js';

/** Builds `dockerfile` in a context of its own with the CLI; returns the CLI result and the root. */
async function failing(t: { teardown(fn: () => Promise<void>): void }, dockerfile: string, extra: string[] = []) {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-err-');
  await writeFile(join(ctx, 'Dockerfile'), dockerfile);
  await writeFile(join(ctx, 'present.txt'), 'here\n');
  return { ...(await kiln(root, ['build', '--progress', 'plain', ...extra, ctx])), root };
}

/**
 * The same through the library, printed by the CLI's own error reporter: what `kiln build` would
 * print, without a process start per case.
 */
async function failingInProcess(t: { teardown(fn: () => Promise<void>): void }, dockerfile: string, target?: string) {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-err-');
  await writeFile(join(ctx, 'Dockerfile'), dockerfile);
  await writeFile(join(ctx, 'present.txt'), 'here\n');
  let stderr = '';
  let code = 0;
  try {
    await build({ ...(await dockerfileOptions(root, ctx)), ...(target ? { target } : {}) });
  } catch (e) {
    code = reportError(e, false, (s) => (stderr += s));
  }
  return { code, stderr, root };
}

/** After a failed build nothing is left half-made: no temp files, no mounted snapshots, store opens. */
async function storeConsistent(root: string): Promise<boolean> {
  const tmp = await readdir(join(root, 'tmp'));
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  const store = await openStore(root);
  try {
    await store.resolveImage('busybox');
  } finally {
    store.close();
  }
  return tmp.length === 0 && !mounts.includes(root);
}

const noStack = (s: string) => !/\n\s+at .+:\d+:\d+\)?\n/.test(s);

test('a failing RUN: location, caret, exit code, last lines, full log kept', async (t) => {
  // stdout and stderr reach kiln through two pipes, so their relative order is not defined (in
  // BuildKit neither): the tail is checked on stderr alone, stdout only for being logged.
  const lines = Array.from({ length: 30 }, (_, i) => `echo line${i + 1}`).join('; ');
  const r = await failing(t, `FROM busybox AS app\nRUN echo on-stdout; { ${lines}; echo oops; } >&2; exit 3\n`);
  t.is(r.code, 1, r.stderr);
  t.true(noStack(r.stderr), r.stderr);
  t.regex(r.stderr, /Dockerfile:2:1: stage app: RUN .* failed with exit code 3\n  RUN echo on-stdout;.*\n  \^/);
  t.regex(r.stderr, /last 20 lines of output:\n(  \| .*\n){20}/);
  t.regex(r.stderr, /\| oops\n/);
  t.notRegex(r.stderr, /\| line10\n/, 'only the last 20 lines are shown');
  const log = /full log: (\S+)/.exec(r.stderr)?.[1];
  t.truthy(log);
  const full = await readFile(log!, 'utf8');
  t.true(full.includes('on-stdout\n') && full.includes('line1\n') && full.includes('line30\n') && full.includes('oops'), 'the log holds everything');
  t.true(await storeConsistent(r.root));
});

test('a missing COPY source', async (t) => {
  const r = await failingInProcess(t, 'FROM busybox\nCOPY present.txt /p\nCOPY missing.txt /m\n');
  t.is(r.code, 1);
  t.true(noStack(r.stderr));
  t.regex(r.stderr, /Dockerfile:3:1: failed to compute cache key: "\/missing.txt": not found\n  COPY missing.txt \/m\n  \^/);
  t.true(await storeConsistent(r.root));
});

test('a USER the image does not know fails the RUN that needs it, at its line', async (t) => {
  const r = await failingInProcess(t, 'FROM busybox\nUSER nosuch\nRUN true\n');
  t.is(r.code, 1);
  t.true(noStack(r.stderr));
  t.regex(r.stderr, /Dockerfile:3:1: unable to find user nosuch: no matching entries in passwd file\n  RUN true\n  \^/);
  t.true(await storeConsistent(r.root));
});

test('an unknown stage in --from', async (t) => {
  const r = await failingInProcess(t, 'FROM busybox\nCOPY --from=nosuchstage /x /x\n');
  t.is(r.code, 1);
  t.true(noStack(r.stderr));
  t.regex(r.stderr, /Dockerfile:2:1: COPY --from=nosuchstage: no stage is named "nosuchstage"/);
  t.true(await storeConsistent(r.root));
});

test('a URL as a COPY source', async (t) => {
  const r = await failingInProcess(t, 'FROM busybox\nCOPY http://example.com/x /x\n');
  t.is(r.code, 1);
  t.true(noStack(r.stderr));
  t.regex(r.stderr, /Dockerfile:2:1: source can't be a URL for COPY\n  COPY http:\/\/example\.com\/x \/x\n  \^\nhint: ADD downloads a URL; COPY reads the build context\n/);
  t.true(await storeConsistent(r.root));
});

test('an unknown target', async (t) => {
  const r = await failingInProcess(t, 'FROM busybox AS one\nRUN true\n', 'two');
  t.is(r.code, 1);
  t.is(r.stderr, 'kiln: target stage "two" could not be found\nhint: stages with a name: one\n');
  t.true(await storeConsistent(r.root));
});

test('a cyclic --from', async (t) => {
  const r = await failingInProcess(t, 'FROM busybox AS a\nRUN --mount=from=b,target=/b true\nFROM busybox AS b\nCOPY --from=a /y /y\n');
  t.is(r.code, 1);
  t.true(noStack(r.stderr));
  t.regex(r.stderr, /Dockerfile:\d:1: circular dependency between stages: (a -> b -> a|b -> a -> b)\n  (COPY --from=a \/y \/y|RUN --mount=from=b,target=\/b true)\n  \^/);
  t.true(await storeConsistent(r.root));
});

test('COPY --from a stage defined further down', async (t) => {
  const r = await failingInProcess(t, 'FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\nRUN touch /x\n');
  t.is(r.code, 1);
  t.true(noStack(r.stderr));
  t.regex(r.stderr, /Dockerfile:2:1: cannot copy from stage "b", it needs to be defined before current stage "a"\n  COPY --from=b \/x \/x\n  \^\nhint: move that stage above this one\n/);
  t.true(await storeConsistent(r.root));
});

test('an undefined variable in ${X:?}', async (t) => {
  const r = await failingInProcess(t, 'FROM busybox\nARG X\nWORKDIR ${X:?is required}\n');
  t.is(r.code, 1);
  t.true(noStack(r.stderr));
  t.regex(r.stderr, /Dockerfile:3:1: X: is required\n  WORKDIR \$\{X:\?is required\}\n  \^/);
  t.true(await storeConsistent(r.root));
  t.false(existsSync(join(r.root, 'logs', 'builds')) && (await readdir(join(r.root, 'logs', 'builds'))).length > 0, 'no step ran, so no logs');
});

test('# check=error=true fails on a check it does not skip, before anything runs (BuildKit testLintErrors)', async (t) => {
  const r = await failingInProcess(t, '# check=error=true\nFROM busybox as base\nRUN true\nCMD echo hi\n');
  t.is(r.code, 1);
  t.true(noStack(r.stderr));
  t.regex(r.stderr, /^Dockerfile:2:1: lint violation found for rules: FromAsCasing, JSONArgsRecommended\n  FROM busybox as base\n  \^\nhint: FromAsCasing: 'as' and 'FROM' keywords' casing do not match \(line 2\); JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals \(line 4\);/);
  t.true(await storeConsistent(r.root));
  t.false(existsSync(join(r.root, 'logs', 'builds')) && (await readdir(join(r.root, 'logs', 'builds'))).length > 0, 'no step ran');
  const skipped = await failingInProcess(t, '# check=skip=FromAsCasing,JSONArgsRecommended;error=true\nFROM busybox as base\nCMD echo hi\n');
  t.is(skipped.code, 0, skipped.stderr);
  const warnOnly = await failingInProcess(t, '# check=error=false\nFROM busybox as base\n');
  t.is(warnOnly.code, 0, warnOnly.stderr);
  // BUILDKIT_DOCKERFILE_CHECK stands in for the directive, from the CLI.
  const byArg = await failing(t, 'FROM busybox as base\n', ['--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=error=true']);
  t.is(byArg.code, 1);
  t.regex(byArg.stderr, /Dockerfile:1:1: lint violation found for rules: FromAsCasing\n/);
  const argSkips = await failing(t, '# check=error=true\nFROM busybox as base\n', ['--build-arg', 'BUILDKIT_DOCKERFILE_CHECK=skip=FromAsCasing;error=true']);
  t.is(argSkips.code, 0, argSkips.stderr);
});

test('a failing step cancels the steps still running in other stages', async (t) => {
  const { root, ctx } = await freshRootAndContext(t, 'kiln-err-');
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox AS slow\nRUN sleep 60\nFROM busybox AS bad\nRUN sleep 1; exit 7\nFROM busybox\nCOPY --from=slow /etc/passwd /a\nCOPY --from=bad /etc/passwd /b\n');
  const buildId = newBuildId();
  const events: VertexEvent[] = [];
  const off = subscribe(buildId, (e) => events.push(e));
  const err = await t.throwsAsync(build({ ...(await dockerfileOptions(root, ctx)), jobs: 4, buildId }));
  off();
  t.is((err as { code?: string }).code, 'E_BUILD_STEP_FAILED');
  const slow = events.find((e) => e.type === 'start' && e.name.endsWith('RUN sleep 60'))!;
  t.truthy(slow);
  t.true(events.some((e) => e.vertex === slow.vertex && e.type === 'error'), 'the running sleep was stopped');
  t.false(events.some((e) => e.vertex === slow.vertex && e.type === 'complete'));
  t.regex(err!.message, /stage bad: RUN sleep 1; exit 7 failed with exit code 7/);
  t.true(await storeConsistent(root));
});
