import test from 'ava';
import { parseDockerfile } from '../../grammar/index.js';
import { automaticArgs, StageVariables } from './args.js';
import { expandInstruction, makeExpander } from './expand.js';
import { goQuote } from '../../grammar/index.js';
import { ConfigValueError, goDuration, ImageState, normalizeWorkdir } from './image-state.js';
import { planBuild, resolveStageRef } from './plan.js';

const amd64 = { os: 'linux', architecture: 'amd64' };

function plan(src: string, opts: { buildArgs?: Record<string, string>; target?: string; named?: string[] } = {}) {
  const parsed = parseDockerfile(src);
  return planBuild(parsed, {
    buildArgs: new Map(Object.entries(opts.buildArgs ?? {})),
    automaticArgs: automaticArgs(amd64),
    source: src,
    ...(opts.named ? { namedContexts: new Set(opts.named) } : {}),
    ...(opts.target ? { target: opts.target } : {}),
  });
}

/** Runs a stage's metadata instructions the way the stage builder does and returns its state. */
function stageState(src: string, buildArgs: Record<string, string> = {}, baseEnv: string[] = ['PATH=/bin']) {
  const p = plan(src, { buildArgs });
  const st = p.stages[p.target]!;
  const img = new ImageState(
    { architecture: 'amd64', os: 'linux', config: { Env: baseEnv }, rootfs: { type: 'layers', diff_ids: [] } },
    (env) => new StageVariables(new Map(Object.entries(buildArgs)), p.globals, env),
    '2024-01-01T00:00:00Z',
  );
  const expanded = [];
  for (const raw of st.stage.instructions) {
    const ins = expandInstruction(raw, makeExpander(p, raw, img.vars.expansionEnv()), (key) => img.vars.overridden(key));
    expanded.push(ins);
    img.applyMetadata(ins);
  }
  return { img, expanded, plan: p };
}

test('automatic platform args', (t) => {
  const a = automaticArgs(amd64);
  t.is(a.get('TARGETPLATFORM'), 'linux/amd64');
  t.is(a.get('TARGETARCH'), 'amd64');
  t.is(a.get('BUILDOS'), 'linux');
  t.is(a.get('TARGETVARIANT'), '');
});

test('global ARGs expand in FROM and need redeclaring inside a stage', (t) => {
  const { img, plan: p } = stageState('ARG TAG=1.36\nARG IMG=busybox:${TAG}\nFROM $IMG\nENV A=${TAG}-x\nARG TAG\nENV B=${TAG}-y\n');
  const base = p.stages[0]!.base;
  t.deepEqual(base, { kind: 'image', ref: 'busybox:1.36' });
  t.deepEqual(img.container.Env, ['PATH=/bin', 'A=-x', 'B=1.36-y']);
});

test('--build-arg overrides defaults; stage default expands with what is in scope', (t) => {
  const { img } = stageState('FROM scratch\nENV BASE=/opt\nARG DIR=$BASE/app\nARG V=1\nENV D=$DIR V=$V\n', { V: '2' });
  t.deepEqual(img.container.Env, ['PATH=/bin', 'BASE=/opt', 'D=/opt/app', 'V=2']);
  t.deepEqual(img.vars.runEnv(), ['PATH=/bin', 'BASE=/opt', 'D=/opt/app', 'V=2', 'DIR=/opt/app']);
});

test('a default that --build-arg replaces is not evaluated (BuildKit testArgDefaultExpansion)', (t) => {
  const src = 'FROM scratch\nARG FOO\nARG BAR=${FOO:?"foo missing"}\nENV B=$BAR\n';
  t.deepEqual(stageState(src, { BAR: '123' }).img.container.Env, ['PATH=/bin', 'B=123']);
  t.throws(() => stageState(src), { message: /FOO: foo missing/ });
});

test('ADD --checksum expands variables, as BuildKit does (testAddChecksum DigestFromEnv)', (t) => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const { expanded } = stageState(`FROM scratch\nENV DIGEST=${digest} LINK=http://example.com/f\nADD --checksum=\${DIGEST} \${LINK} /f\n`);
  const add = expanded.find((i) => i.kind === 'add') as { checksum?: string; sources: string[] };
  t.is(add.checksum, digest);
  t.deepEqual(add.sources, ['http://example.com/f']);
});

test('ENV wins over an ARG of the same name; ARGs are not in the image env', (t) => {
  const { img } = stageState('FROM scratch\nARG X=arg\nENV X=env\nARG Y=y\n');
  t.deepEqual(img.container.Env, ['PATH=/bin', 'X=env']);
  t.true(img.vars.runEnv().includes('Y=y'));
  t.false(img.vars.runEnv().includes('X=arg'));
});

test('automatic args are visible in a stage only when declared', (t) => {
  const { img } = stageState('FROM scratch\nENV A=${TARGETARCH}\nARG TARGETARCH\nENV B=${TARGETARCH}\n');
  t.deepEqual(img.container.Env, ['PATH=/bin', 'A=', 'B=amd64']);
});

test('TARGETSTAGE is the stage being built: --target, the last stage name, or default (BuildKit testTargetStageNameArg)', (t) => {
  const src = (last: string) => `FROM scratch AS base\nARG TARGETSTAGE\nENV T=$TARGETSTAGE\nFROM base${last}\n`;
  const env = (p: ReturnType<typeof plan>) => p.globals.get('TARGETSTAGE');
  t.is(env(plan(src(' AS final'))), 'final');
  t.is(env(plan(src(''))), 'default');
  t.is(env(plan(src(' AS final'), { target: 'base' })), 'base');
  t.deepEqual(stageState('FROM scratch\nARG TARGETSTAGE\nENV T=$TARGETSTAGE\n').img.container.Env, ['PATH=/bin', 'T=default']);
});

test('proxy args reach RUN without ARG but not history or declared args', (t) => {
  const { img } = stageState('FROM scratch\nARG FOO=1\n', { HTTP_PROXY: 'http://p:3128', FOO: '2' });
  // Under both spellings, as BuildKit's ProxyEnv sets them (testBuiltinArgs: http_proxy gives $HTTP_PROXY).
  t.deepEqual(img.vars.proxyEnv(), ['HTTP_PROXY=http://p:3128', 'http_proxy=http://p:3128']);
  t.deepEqual(img.vars.declaredArgs(), [{ key: 'FOO', value: '2' }]);
  const lower = stageState('FROM scratch\n', { http_proxy: 'hp', NO_PROXY: 'np', no_proxy: 'other' });
  t.deepEqual(lower.img.vars.proxyEnv(), ['HTTP_PROXY=hp', 'http_proxy=hp', 'NO_PROXY=np', 'no_proxy=other']);
});

test('ENV pairs on one line all see the environment from before the line', (t) => {
  const { img } = stageState('FROM scratch\nENV abc=hello\nENV abc=bye def=$abc\n');
  t.deepEqual(img.container.Env, ['PATH=/bin', 'abc=bye', 'def=hello']);
});

test('expansion happens where BuildKit expands, and not in RUN/CMD/ENTRYPOINT/SHELL', (t) => {
  const src = [
    'FROM scratch',
    'ENV D=/data U=nobody P="8080 9090" S=SIGTERM N=name',
    'WORKDIR $D',
    'WORKDIR sub',
    'USER $U',
    'EXPOSE $P 53/udp',
    'VOLUME $D/vol',
    'STOPSIGNAL $S',
    'LABEL $N=$D',
    'RUN echo $D',
    'CMD echo $D',
    'ENTRYPOINT ["echo", "$D"]',
    'COPY --chown=$U $D/a $D/b/',
  ].join('\n');
  const { img, expanded } = stageState(src);
  const c = img.container;
  t.is(c.WorkingDir, '/data/sub');
  t.is(c.User, 'nobody');
  t.deepEqual(Object.keys(c.ExposedPorts!), ['8080/tcp', '9090/tcp', '53/udp']);
  t.deepEqual(Object.keys(c.Volumes!), ['/data/vol']);
  t.is(c.StopSignal, 'SIGTERM');
  t.deepEqual(c.Labels, { name: '/data' });
  const run = expanded.find((i) => i.kind === 'run')!;
  t.deepEqual(run.kind === 'run' && run.command, { form: 'shell', text: 'echo $D' });
  // ENTRYPOINT in the same stage as CMD keeps it; exec form is not expanded.
  t.deepEqual(c.Entrypoint, ['echo', '$D']);
  t.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo $D']);
  const copy = expanded.find((i) => i.kind === 'copy')!;
  t.true(copy.kind === 'copy' && copy.chown === 'nobody' && copy.sources[0] === '/data/a' && copy.dest === '/data/b/');
});

test('ENTRYPOINT resets an inherited CMD; SHELL changes the shell form wrapper', (t) => {
  const parsed = parseDockerfile('FROM scratch\nSHELL ["/bin/bash", "-xc"]\nENTRYPOINT exec app\n');
  const p = planBuild(parsed, { buildArgs: new Map(), automaticArgs: automaticArgs(amd64), source: '' });
  const img = new ImageState(
    { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [] } },
    (env) => new StageVariables(new Map(), p.globals, env),
    'now',
  );
  for (const ins of p.stages[0]!.stage.instructions) img.applyMetadata(ins);
  t.deepEqual(img.container.Entrypoint, ['/bin/bash', '-xc', 'exec app']);
  t.is(img.container.Cmd, null);
  t.deepEqual(
    img.config.history!.map((h) => h.created_by),
    ['SHELL [/bin/bash -xc]', 'ENTRYPOINT ["/bin/bash" "-xc" "exec app"]'],
  );
  t.true(img.config.history!.every((h) => h.empty_layer && h.comment === 'buildkit.dockerfile.v0'));
});

test("config-only history entries before a stage's first layer take that layer's time, later ones the last layer's (BuildKit normalizeLayersAndHistory)", (t) => {
  const { img } = stageState('FROM scratch\nENV A=1\nLABEL l=1\n');
  // No layer yet: the base's time, as BuildKit gives them when the stage makes none.
  t.deepEqual(img.config.history!.map((h) => h.created), ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z']);
  img.created = '2024-02-02T00:00:00Z';
  img.addHistory('COPY a b # buildkit', false);
  img.applyMetadata(parseDockerfile('FROM scratch\nUSER u\n').instructions[1]!);
  img.created = '2024-03-03T00:00:00Z';
  img.addHistory('RUN x # buildkit', false);
  t.deepEqual(
    img.config.history!.map((h) => [h.created_by, h.created]),
    [
      ['ENV A=1', '2024-02-02T00:00:00Z'],
      ['LABEL l=1', '2024-02-02T00:00:00Z'],
      ['COPY a b # buildkit', '2024-02-02T00:00:00Z'],
      ['USER u', '2024-02-02T00:00:00Z'],
      ['RUN x # buildkit', '2024-03-03T00:00:00Z'],
    ],
  );
});

test('a stage FROM a stage that made no layer gives its config-only entries its own first layer time too', (t) => {
  const history = [
    { created: '1970-01-01T00:00:00Z', created_by: 'base layer' },
    { created: '1970-01-01T00:00:00Z', created_by: 'ENV A=1', comment: 'buildkit.dockerfile.v0', empty_layer: true },
  ];
  const p = plan('FROM scratch\n');
  const img = new ImageState({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history }, (env) => new StageVariables(new Map(), p.globals, env), '1970-01-01T00:00:00Z', 1);
  t.is(img.pendingHistory, 1);
  img.created = '2024-02-02T00:00:00Z';
  img.addHistory('COPY a b # buildkit', false);
  t.is(img.pendingHistory, 0);
  t.deepEqual(img.config.history!.map((h) => h.created), ['1970-01-01T00:00:00Z', '2024-02-02T00:00:00Z', '2024-02-02T00:00:00Z']);
  t.is(history[1]!.created, '1970-01-01T00:00:00Z', "the base stage's own config is left as it was");
});

test('HEALTHCHECK, MAINTAINER and ONBUILD go into the config', (t) => {
  const { img } = stageState('FROM scratch\nMAINTAINER me\nHEALTHCHECK --interval=5s CMD true\nONBUILD RUN echo hi\n');
  t.is(img.config.author, 'me');
  t.deepEqual(img.container.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5_000_000_000 });
  t.deepEqual(img.container.OnBuild, ['RUN echo hi']);
  // BuildKit: HEALTHCHECK is `%+v` of the config; ONBUILD writes no history at all.
  t.deepEqual(
    img.config.history!.map((h) => h.created_by),
    ['MAINTAINER me', 'HEALTHCHECK {Test:[CMD-SHELL true] Interval:5s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}'],
  );
});

test('HEALTHCHECK zero options are left out of the config and shown as Go durations in history', (t) => {
  const { img } = stageState('FROM scratch\nHEALTHCHECK --interval=90s --timeout=0s --start-period=1500ms --retries=0 CMD ["a", "b"]\n');
  t.deepEqual(img.container.Healthcheck, { Test: ['CMD', 'a', 'b'], Interval: 90_000_000_000, StartPeriod: 1_500_000_000 });
  t.is(img.config.history!.at(-1)!.created_by, 'HEALTHCHECK {Test:[CMD a b] Interval:1m30s Timeout:0s StartPeriod:1.5s StartInterval:0s Retries:0}');
  const none = stageState('FROM scratch\nHEALTHCHECK NONE\n').img;
  t.is(none.config.history!.at(-1)!.created_by, 'HEALTHCHECK {Test:[NONE] Interval:0s Timeout:0s StartPeriod:0s StartInterval:0s Retries:0}');
});

test('goDuration prints like Go time.Duration', (t) => {
  t.is(goDuration(0), '0s');
  t.is(goDuration(500), '500ns');
  t.is(goDuration(1_500), '1.5µs');
  t.is(goDuration(250_000_000), '250ms');
  t.is(goDuration(3_600_000_000_000), '1h0m0s');
  t.is(goDuration(3_723_500_000_000), '1h2m3.5s');
});

test('CMD and ENTRYPOINT history quote like Go %q; CMD sets ArgsEscaped', (t) => {
  const { img } = stageState('FROM scratch\nENTRYPOINT ["a\\u0007", "\\u00a0é"]\nCMD ["x"]\n');
  t.true(img.container.ArgsEscaped);
  t.deepEqual(
    img.config.history!.map((h) => h.created_by),
    ['ENTRYPOINT ["a\\a" "\\u00a0é"]', 'CMD ["x"]'],
  );
  t.is(goQuote('tab\there "q" \x7f'), '"tab\\there \\"q\\" \\x7f"');
  t.is(stageState('FROM scratch\nENTRYPOINT ["a"]\n').img.container.ArgsEscaped, undefined);
});

test('EXPOSE normalises ports, keeps only container ports of mappings, and writes the list to history', (t) => {
  const { img } = stageState('FROM scratch\nEXPOSE 80 53/UDP 8000-8001 127.0.0.1:8080:90/tcp 7000:70\n');
  t.deepEqual(Object.keys(img.container.ExposedPorts!), ['90/tcp', '53/udp', '70/tcp', '80/tcp', '8000/tcp', '8001/tcp']);
  // In the order of the words as written, sorted (BuildKit's parseExpose), repeats kept (dispatchExpose).
  t.is(img.config.history!.at(-1)!.created_by, 'EXPOSE [90/tcp 53/udp 70/tcp 80/tcp 8000/tcp 8001/tcp]');
  t.is(stageState('FROM scratch\nEXPOSE 2375 5000 1234/udp\n').img.config.history!.at(-1)!.created_by, 'EXPOSE [1234/udp 2375/tcp 5000/tcp]');
  t.is(stageState('FROM scratch\nEXPOSE 8080 80-81 8080\n').img.config.history!.at(-1)!.created_by, 'EXPOSE [80/tcp 81/tcp 8080/tcp 8080/tcp]');
  // The words are sorted before they are expanded.
  t.is(stageState('FROM scratch\nENV P=8080\nEXPOSE 22 $P\n').img.config.history!.at(-1)!.created_by, 'EXPOSE [8080/tcp 22/tcp]');
  t.deepEqual(Object.keys(stageState('FROM scratch\nEXPOSE [::1]:80:80 0.0.0.0:81:81\n').img.container.ExposedPorts!).sort(), ['80/tcp', '81/tcp']);
  for (const bad of ['abc', '80/xyz', '70000', '90-80', '/tcp', '+80', 'foo:8080:80']) t.throws(() => stageState(`FROM scratch\nEXPOSE ${bad}\n`), { instanceOf: ConfigValueError }, bad);
});

test('ARG history shows the value the ARG resolved to: --build-arg, default or global', (t) => {
  const { img } = stageState('ARG G=glob\nARG N\nFROM scratch\nARG G\nARG N\nARG B=dflt\nARG C\nARG TARGETARCH\n', { B: 'cli' });
  t.deepEqual(
    img.config.history!.map((h) => h.created_by),
    ['ARG G=glob', 'ARG N', 'ARG B=cli', 'ARG C', 'ARG TARGETARCH=amd64'],
  );
});

test('${X:?} on an unset variable is an error at the instruction', (t) => {
  const err = t.throws(() => stageState('FROM scratch\nWORKDIR ${X:?must be set}\n'));
  t.is((err as { code?: string }).code, 'E_BUILD_EXPAND');
  t.regex((err as { format(): string } & Error).format(), /Dockerfile:2:1: X: must be set\n  WORKDIR \$\{X:\?must be set\}\n  \^/);
});

test('--target keeps only the stages the target needs', (t) => {
  const p = plan('FROM scratch AS a\nFROM scratch AS b\nFROM a AS c\nCOPY --from=b /x /x\nFROM scratch AS d\n', { target: 'c' });
  t.deepEqual(p.order, [0, 1, 2]);
  t.is(p.target, 2);
  t.deepEqual(plan('FROM scratch AS a\nFROM scratch AS b\nRUN --mount=from=a,target=/a true\n').order, [0, 1]);
});

test('COPY --from names only earlier stages, as in BuildKit; RUN --mount from= may name a later one', (t) => {
  const late = t.throws(() => plan('FROM busybox AS target\nCOPY --from=build /d2 /out\nFROM busybox AS build\nCOPY Dockerfile /d2\nFROM target\n'));
  t.is((late as { code?: string }).code, 'E_BUILD_STAGE_ORDER');
  t.is(late!.message, 'cannot copy from stage "build", it needs to be defined before current stage "target"');
  t.is((late as { position?: { line: number } }).position?.line, 2);
  t.is((t.throws(() => plan('FROM busybox\nCOPY --from=1 /x /x\nFROM busybox\n')) as { code?: string }).code, 'E_BUILD_STAGE_ORDER');
  t.deepEqual(plan('FROM busybox AS a\nRUN --mount=from=b,target=/b true\nFROM busybox AS b\n').stages[0]!.deps, [1]);
});

test('a --build-context name replaces the stage of that name: nothing depends on the stage, which is left out', (t) => {
  const p = plan('FROM busybox AS base\nRUN false\nFROM base\nCOPY --from=base /a /a\nRUN --mount=from=base,target=/m true\n', { named: ['base'] });
  t.deepEqual(p.stages[1]!.base, { kind: 'image', ref: 'base' });
  t.deepEqual(p.stages[1]!.deps, []);
  t.deepEqual(p.order, [1]);
});

test('of stages sharing a name, --from means the last one, wherever it is resolved (BuildKit)', (t) => {
  const p = plan('FROM busybox AS a\nRUN echo 1 > /f\nFROM busybox AS a\nRUN echo 2 > /f\nFROM scratch\nCOPY --from=a /f /f\n');
  t.deepEqual(p.stages[2]!.deps, [1]);
  t.is(resolveStageRef('a', p.stages), 1);
});

test('FROM names only earlier stages; an unknown --from name is treated as an image', (t) => {
  const p = plan('FROM later AS early\nFROM scratch AS later\nCOPY --from=nosuch:1 /x /x\n');
  t.deepEqual(p.stages[0]!.base, { kind: 'image', ref: 'later' });
  t.deepEqual(p.stages[1]!.deps, []);
});

test('unknown target, cyclic --from and bad stage index are errors', (t) => {
  t.is(t.throws(() => plan('FROM scratch AS a\n', { target: 'nope' }))!.message, 'target stage "nope" could not be found');
  // A near miss is named, as BuildKit's testTargetMistype checks.
  t.is(t.throws(() => plan('FROM scratch AS build\nFROM scratch AS final\n', { target: 'bulid' }))!.message, 'target stage "bulid" could not be found (did you mean build?)');
  const cyc = t.throws(() => plan('FROM busybox AS a\nRUN --mount=from=b,target=/b true\nFROM scratch AS b\nCOPY --from=a /y /y\n'));
  t.is((cyc as { code?: string }).code, 'E_BUILD_CYCLE');
  t.regex(cyc!.message, /circular dependency between stages: (a -> b -> a|b -> a -> b)/);
  t.is((t.throws(() => plan('FROM scratch AS a\nCOPY --from=a /x /x\n')) as { code?: string }).code, 'E_BUILD_CYCLE');
  t.is((t.throws(() => plan('FROM scratch\nCOPY --from=3 /x /x\n')) as { code?: string }).code, 'E_BUILD_UNKNOWN_STAGE');
});

test('inherited ARGs are in scope; a value-less redeclaration keeps the value but shows none', (t) => {
  const vars = new StageVariables(new Map(), new Map(), ['PATH=/bin'], [{ key: 'W', value: 'w1' }]);
  t.deepEqual(vars.runEnv(), ['PATH=/bin', 'W=w1']);
  t.is(vars.declareArg('W', undefined), undefined);
  t.is(vars.declareArg('X', 'x'), 'x');
  t.is(vars.declareArg('X', undefined), undefined);
  t.deepEqual(vars.declaredArgs(), [
    { key: 'W', value: 'w1' },
    { key: 'X', value: 'x' },
  ]);
});

test('STOPSIGNAL must name a signal and VOLUME words must not expand to nothing, as BuildKit checks', (t) => {
  for (const sig of ['SIGKILL', 'term', '9', 'RTMIN+3', 'SIGRTMAX-2']) t.is(stageState(`FROM scratch\nSTOPSIGNAL ${sig}\n`).img.container.StopSignal, sig);
  for (const bad of ['FOO', '0', 'SIGRTMIN+16']) t.throws(() => stageState(`FROM scratch\nSTOPSIGNAL ${bad}\n`), { instanceOf: ConfigValueError, message: `invalid signal: ${bad}` });
  t.throws(() => stageState('FROM scratch\nENV X=\nVOLUME $X\n'), { instanceOf: ConfigValueError, message: 'VOLUME specified can not be an empty string' });
});

test('an ARG with a value after an ENV of the same name wins in expansion, RUN and history, not in the image Env (BuildKit dispatchArg AddEnv)', (t) => {
  const { img } = stageState('FROM scratch\nENV FOO=env BAR=envbar\nARG FOO=arg\nARG BAR\nLABEL f=$FOO b=$BAR\n');
  t.deepEqual(img.container.Labels, { f: 'arg', b: 'envbar' });
  t.deepEqual(img.container.Env, ['PATH=/bin', 'FOO=env', 'BAR=envbar']);
  t.deepEqual(img.vars.runEnv(), ['PATH=/bin', 'FOO=arg', 'BAR=envbar']);
  t.deepEqual(img.vars.declaredArgs(), [
    { key: 'FOO', value: 'arg' },
    { key: 'BAR', value: 'envbar' },
  ]);
  // The base image's env too; a later ENV wins again.
  t.is(stageState('FROM scratch\nARG PATH=/x\nENV A=$PATH\nENV PATH=/y\nENV B=$PATH\n').img.container.Env!.join(' '), 'PATH=/y A=/x B=/y');
  // A stage built FROM this one gets the image env applied again over the inherited ARGs.
  const child = new StageVariables(new Map(), new Map(), ['FOO=env'], [{ key: 'FOO', value: 'arg' }]);
  t.is(child.expansionEnv().get('FOO'), 'env');
});

test('an ARG name is not expanded, only its default (BuildKit dispatchArg, buildMetaArgs)', (t) => {
  const { img } = stageState('ARG $G=1\nFROM scratch\nENV N=foo\nARG $N=1\nLABEL a=$N b=${foo:-unset}\n');
  t.deepEqual(img.container.Labels, { a: 'foo', b: 'unset' });
  t.is(img.config.history!.find((h) => h.created_by?.startsWith('ARG'))!.created_by, 'ARG $N=1');
});

test('FROM names a stage only as spelt lowercase; stage names are case-insensitive elsewhere (moby/buildkit#2003)', (t) => {
  const p = plan('FROM busybox AS Build\nFROM build AS a\nFROM Build AS b\nCOPY --from=BUILD /x /x\n');
  t.deepEqual(p.stages[1]!.base, { kind: 'stage', index: 0 });
  t.deepEqual(p.stages[2]!.base, { kind: 'image', ref: 'Build' });
  t.deepEqual(p.stages[2]!.deps, [0]);
});

test('COPY --from takes no variables: one that would expand is an error, in any stage (BuildKit toCommand)', (t) => {
  for (const from of ['$X', '${X:-a}', 'stage-$X']) {
    const err = t.throws(() => plan(`ARG X=a\nFROM busybox AS a\nFROM scratch AS b\nCOPY --from=${from} /x /x\nFROM scratch\n`));
    t.is((err as { code?: string }).code, 'E_BUILD_COPY_FROM_VAR', from);
    t.regex(err!.message, /^variable expansion is not supported for --from/);
  }
  t.deepEqual(plan('FROM busybox AS a\nFROM scratch\nCOPY --from=a /x /x\n').stages[1]!.deps, [0]);
});

test('WORKDIR keeps an absolute path as written and cleans a relative one joined to the current (BuildKit NormalizeWorkdir)', (t) => {
  const { img } = stageState('FROM scratch\nWORKDIR /foo/\nWORKDIR bar/./\nWORKDIR //x/./y/..\n');
  t.is(img.container.WorkingDir, '//x/./y/..');
  t.deepEqual(normalizeWorkdir('/foo/', 'bar/./'), '/foo/bar');
  t.deepEqual(normalizeWorkdir('', 'a/../b'), '/b');
  t.deepEqual(normalizeWorkdir('/app/', '/app/'), '/app/');
});
