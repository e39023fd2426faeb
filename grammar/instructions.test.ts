import test from 'ava';
import { DockerfileErrorCode, DockerfileParseError, expandMount, FlagError, MountProblem, MountSpecError, UnknownInstructionError, groupStages, parseDockerfile, parseDockerfileNodes, parseMount } from './index.js';

const parse = (body: string) => parseDockerfile(`FROM base\n${body}`, { file: 'Df' });
const one = (body: string) => parse(body).instructions[1]!;
const error = (t: import('ava').ExecutionContext, body: string) => t.throws(() => parse(body), { instanceOf: DockerfileParseError })!;

test('FROM: image, --platform, AS name (lower-cased); bad forms rejected', (t) => {
  t.like(parseDockerfile('FROM --platform=linux/arm64 img:1 AS Build\n').instructions[0], { kind: 'from', image: 'img:1', platform: 'linux/arm64', stageName: 'build' });
  t.is(t.throws(() => parseDockerfile('FROM a b\n'))!.message, 'FROM requires either one or three arguments');
  t.regex(t.throws(() => parseDockerfile('FROM a AS 1x\n'))!.message, /invalid name for build stage: "1x"/);
  t.is(t.throws(() => parseDockerfile('FROM --plat=x a\n'), { instanceOf: FlagError })!.message, 'Unknown flag: plat');
});

test('RUN, CMD, ENTRYPOINT: shell and exec forms', (t) => {
  t.like(one('RUN echo "a  b"'), { kind: 'run', command: { form: 'shell', text: 'echo "a  b"' }, mounts: [] });
  t.like(one('CMD ["/bin/sh", "-c", "x"]'), { kind: 'cmd', command: { form: 'exec', args: ['/bin/sh', '-c', 'x'] } });
  t.like(one('ENTRYPOINT exec top'), { kind: 'entrypoint', command: { form: 'shell', text: 'exec top' } });
});

test('RUN flags: mounts, network, security', (t) => {
  const run = one('RUN --mount=type=cache,target=/c,id=go,sharing=private,uid=1000,mode=0700 --mount=type=secret,id=tok,env=TOKEN,required --mount=type=tmpfs,dst=/t,size=64m --network=none --security=insecure make');
  t.like(run, {
    kind: 'run',
    network: 'none',
    security: 'insecure',
    mounts: [
      { type: 'cache', target: '/c', id: 'go', sharing: 'private', uid: 1000, mode: 0o700, readonly: false },
      { type: 'secret', id: 'tok', env: 'TOKEN', required: true, readonly: true },
      { type: 'tmpfs', target: '/t', size: 64 * 1024 * 1024, readonly: false },
    ],
  });
  t.like(one('RUN --mount=target=/src,from=build,rw x'), { mounts: [{ type: 'bind', target: '/src', from: 'build', readonly: false }] });
  t.like(one('RUN --mount=type=ssh x'), { mounts: [{ type: 'ssh', required: false, readonly: true }] });
  t.is(error(t, 'RUN --network=bridge x').message, 'unsupported network mode "bridge" (use one of default, none, host)');
  t.is(error(t, 'RUN --security=x y').code, DockerfileErrorCode.Flag);
});

test('mount validation errors point at the --mount flag', (t) => {
  const err = t.throws(() => parse('RUN --network=host --mount=type=bind,target=/x,uid=1 true'), { instanceOf: MountSpecError })!;
  t.is(err.message, 'uid not allowed for "bind" type mounts');
  t.deepEqual(err.position, { file: 'Df', line: 2, column: 20 });
  const cases: [string, RegExp][] = [
    ['type=nfs,target=/x', /unsupported mount type "nfs"/],
    ['type=cache,target=/x,sharing=all', /unsupported sharing value "all"/],
    ['type=bind,target=/x,sharing=locked', /invalid cache sharing set for bind mount/],
    ['type=secret', /invalid secret mount/],
    ['type=secret,id=a,source=b', /both source and id can't be set/],
    ['type=cache', /requires a target/],
    ['type=cache,target=/x,mode=9', /invalid value 9 for mode/],
    ['type=cache,target=/x,bogus=1', /unexpected key 'bogus'/],
    ['type=bind,target=/x,required', /unexpected key 'required' for mount type 'bind'/],
    ['target=/x,from=$STAGE', /doesn't support variable expansion/],
    ['type=tmpfs,target=/x,size=lots', /invalid value lots for size/],
    ['type=bind,"target=/x', /csv/],
  ];
  for (const [spec, re] of cases) t.throws(() => parseMount(spec), { message: re }, spec);
});

test('mount values with variables are kept raw for the solver, which expands and checks them (BuildKit testMountArg)', (t) => {
  t.deepEqual(parseMount('type=cache,target=$DIR,uid=$UID'), { type: 'cache', target: '$DIR', readonly: false, sharing: 'shared', raw: 'type=cache,target=$DIR,uid=$UID' });
  // A variable type: nothing can be checked yet but the stage it may read from.
  t.deepEqual(parseMount('type=$T,from=build,target=/x'), { type: 'bind', target: '/x', readonly: true, from: 'build', raw: 'type=$T,from=build,target=/x' });
  const env: Record<string, string> = { T: 'cache', DIR: '/c', UID: '7', MODE: '0700', BAD: 'nfs' };
  const x = (v: string) => v.replace(/\$(\w+)/g, (_, k: string) => env[k] ?? '');
  t.deepEqual(expandMount('type=$T,target=$DIR,uid=$UID,mode=$MODE', x), { type: 'cache', target: '/c', readonly: false, sharing: 'shared', uid: 7, mode: 0o700, raw: 'type=$T,target=$DIR,uid=$UID,mode=$MODE' });
  t.throws(() => expandMount('type=$BAD,target=/x', x), { instanceOf: MountProblem, message: 'unsupported mount type "nfs"' });
  t.throws(() => expandMount('type=bind,target=/x,uid=$UID', x), { instanceOf: MountProblem, message: 'uid not allowed for "bind" type mounts' });
});

test('COPY and ADD: every flag, JSON form, missing destination', (t) => {
  t.like(one('COPY --from=build --chown=1:1 --chmod=644 --link --parents --exclude=*.md --exclude=x a b /dst/'), {
    kind: 'copy', from: 'build', chown: '1:1', chmod: '644', link: true, parents: true, exclude: ['*.md', 'x'], sources: ['a', 'b'], dest: '/dst/', json: false,
  });
  t.like(one('ADD --checksum=sha256:abc --keep-git-dir=true --link=false https://x/y.git /src'), {
    kind: 'add', checksum: 'sha256:abc', keepGitDir: true, link: false, sources: ['https://x/y.git'], dest: '/src',
  });
  t.like(one('COPY ["a b", "/c d"]'), { kind: 'copy', sources: ['a b'], dest: '/c d', json: true });
  t.regex(error(t, 'COPY onlyone').message, /COPY requires at least two arguments/);
  t.is(error(t, 'ADD --from=x a b').message, 'Unknown flag: from');
  t.is(error(t, 'COPY --link=maybe a b').message, 'Expecting boolean value for flag link, not: maybe');
  t.is(error(t, 'COPY --from a b').message, 'Missing a value on flag: from');
  t.is(error(t, 'COPY --from=a --from=b a b').message, 'Duplicate flag specified: from');
  t.is(error(t, 'COPY a <<EOF\nx\nEOF').message, 'COPY cannot accept a heredoc as a destination');
});

test('WORKDIR, USER, EXPOSE, VOLUME, SHELL, STOPSIGNAL, LABEL', (t) => {
  const r = parse('WORKDIR /app\nUSER 1000:1000\nEXPOSE 80 53/udp\nVOLUME ["/a", "/b"]\nVOLUME /c /d\nSHELL ["/bin/bash", "-c"]\nSTOPSIGNAL SIGTERM\nLABEL a=b').instructions;
  t.like(r[1], { kind: 'workdir', path: '/app' });
  t.like(r[2], { kind: 'user', user: '1000:1000' });
  t.like(r[3], { kind: 'expose', ports: ['80', '53/udp'] });
  t.like(r[4], { kind: 'volume', volumes: ['/a', '/b'], json: true });
  t.like(r[5], { kind: 'volume', volumes: ['/c', '/d'], json: false });
  t.like(r[6], { kind: 'shell', shell: ['/bin/bash', '-c'] });
  t.like(r[7], { kind: 'stopsignal', signal: 'SIGTERM' });
  t.is(error(t, 'SHELL /bin/sh -c').message, 'SHELL requires the arguments to be in JSON form');
  t.is(error(t, 'WORKDIR').message, 'WORKDIR requires exactly one argument');
  t.is(error(t, 'EXPOSE').message, 'EXPOSE requires at least one argument');
  t.is(error(t, 'VOLUME [""]').message, 'VOLUME specified can not be an empty string');
  t.is(error(t, 'LABEL').message, 'LABEL requires at least one argument');
});

test('HEALTHCHECK: NONE, CMD with options, errors', (t) => {
  t.like(one('HEALTHCHECK NONE'), { kind: 'healthcheck', check: { type: 'none' } });
  t.like(one('HEALTHCHECK --interval=1m30s --timeout=3s --start-period=0s --start-interval=5ms --retries=3 CMD ["curl", "-f", "x"]'), {
    check: { type: 'cmd', command: { form: 'exec', args: ['curl', '-f', 'x'] }, interval: 90e9, timeout: 3e9, startPeriod: 0, startInterval: 5e6, retries: 3 },
  });
  t.is(error(t, 'HEALTHCHECK NONE x').message, 'HEALTHCHECK NONE takes no arguments');
  t.is(error(t, 'HEALTHCHECK CMD').message, 'Missing command after HEALTHCHECK CMD');
  t.is(error(t, 'HEALTHCHECK CONNECT TCP 7000').message, 'Unknown type "CONNECT" in HEALTHCHECK (try CMD)');
  t.is(error(t, 'HEALTHCHECK --interval=1us CMD x').message, 'Interval "interval" cannot be less than 1ms');
  t.is(error(t, 'HEALTHCHECK --timeout=soon CMD x').message, 'time: invalid duration "soon"');
  // Past int64 nanoseconds, as Go's ParseDuration.
  t.is(error(t, 'HEALTHCHECK --interval=2562048h CMD x').message, 'time: invalid duration "2562048h"');
  t.is(error(t, 'HEALTHCHECK --timeout=9223372036854775808ns CMD x').message, 'time: invalid duration "9223372036854775808ns"');
  t.is(error(t, 'HEALTHCHECK --retries=-1 CMD x').message, '--retries cannot be negative (-1)');
});

test('ONBUILD: nested trigger; ONBUILD ONBUILD, FROM and MAINTAINER rejected', (t) => {
  t.like(one('ONBUILD COPY --from=x a /b'), { kind: 'onbuild', expression: 'COPY --from=x a /b', trigger: { kind: 'copy', from: 'x', sources: ['a'] } });
  t.like(one('ONBUILD RUN --bogus x'), { kind: 'onbuild', expression: 'RUN --bogus x', trigger: undefined });
  t.is(error(t, 'ONBUILD ONBUILD RUN x').message, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  t.is(error(t, 'ONBUILD from x').message, "FROM isn't allowed as an ONBUILD trigger");
  t.is(error(t, 'ONBUILD MAINTAINER x').message, "MAINTAINER isn't allowed as an ONBUILD trigger");
  t.is(error(t, 'ONBUILD').message, 'ONBUILD requires at least one argument');
});

test('unknown instruction: typed error with position and a suggestion', (t) => {
  const err = t.throws(() => parse('  RUNN echo'), { instanceOf: UnknownInstructionError })!;
  t.is(err.message, 'unknown instruction: RUNN');
  t.is(err.hint, 'did you mean RUN?');
  t.deepEqual(err.position, { file: 'Df', line: 2, column: 3 });
  t.is(err.format(), 'Df:2:3: unknown instruction: RUNN\n    RUNN echo\n    ^');
});

test('unknown instruction: named as written, not upper-cased (BuildKit keeps node.Value as written)', (t) => {
  t.is(t.throws(() => parse('[oneAPI]'), { instanceOf: UnknownInstructionError })!.message, 'unknown instruction: [oneAPI]');
  t.is(t.throws(() => parse('hello'), { instanceOf: UnknownInstructionError })!.message, 'unknown instruction: hello');
});

test('stages: global ARGs, one stage per FROM; instructions before FROM rejected', (t) => {
  const r = parseDockerfile('ARG V=1\nFROM a AS one\nRUN x\nFROM one\nCOPY --from=one / /\n');
  const s = groupStages(r.instructions);
  t.is(s.globalArgs.length, 1);
  t.deepEqual(s.stages.map((st) => [st.index, st.name, st.from.image, st.instructions.map((i) => i.kind)]), [
    [0, 'one', 'a', ['run']],
    [1, undefined, 'one', ['copy']],
  ]);
  const err = t.throws(() => parseDockerfile('RUN x\nFROM a\n'), { instanceOf: DockerfileParseError })!;
  t.is(err.code, DockerfileErrorCode.NoStage);
});

test('lint warnings: legacy ENV, shell-form CMD, FROM/AS casing', (t) => {
  const r = parseDockerfile('FROM a as Build\nENV k v\nCMD run\n');
  t.deepEqual(r.warnings.map((w) => w.code), ['FromAsCasing', 'StageNameCasing', 'LegacyKeyValueFormat', 'JSONArgsRecommended']);
});

test('COPY with one heredoc name used twice: both sources get the last body (BuildKit looks bodies up in a map)', (t) => {
  t.like(one('COPY <<EOF <<EOF /x\na\nEOF\nb\nEOF'), {
    inlineSources: [
      { path: 'EOF', data: 'b\n', expand: true },
      { path: 'EOF', data: 'b\n', expand: true },
    ],
  });
});

test('keywords and stage names are lower-cased as Go does (strings.ToLower, EqualFold)', (t) => {
  // Go maps İ to i (JavaScript: i + U+0307) and never to a final ς.
  t.like(parse('FROM a AS \u0130mage').instructions[1], { kind: 'from', stageName: 'image' });
  // EqualFold(s, "as") also folds ſ (U+017F) to s.
  t.like(parse('FROM a a\u017f b').instructions[1], { kind: 'from', stageName: 'b' });
  t.is(parseDockerfileNodes('FROM a\nRUN\u03a3 x\n').nodes[1]!.keyword, 'run\u03c3');
});

test('error messages quote user text as Go %q / %#v do', (t) => {
  t.is(error(t, 'FROM a AS x\u00ady').message, 'invalid name for build stage: "x\\u00ady", name can\'t start with a number or contain symbols');
  t.is(error(t, 'HEALTHCHECK C\u00adMD x').message, 'Unknown type "C\\u00adMD" in HEALTHCHECK (try CMD)');
});
