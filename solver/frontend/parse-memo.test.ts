import test from 'ava';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store } from '../../cache/index.js';
import { withStore } from '../../cache/test-support.js';
import { parseDockerfile, type ParseResult } from '../../grammar/index.js';
import { parseKey, parseRemembered } from './parse-memo.js';

const here = dirname(fileURLToPath(import.meta.url));
const TEXT = 'FROM busybox AS a\nARG X=1\nRUN echo $X\nFROM a\nCOPY --from=a /etc/passwd /p\n';

test('a parse is read back from the store for the same text, file name and parser', async (t) => {
  await withStore(async (s) => {
    const first = parseRemembered(s, TEXT, { file: 'Dockerfile' }, 'parser-1');
    t.deepEqual(first, JSON.parse(JSON.stringify(parseDockerfile(TEXT, { file: 'Dockerfile' }))) as ParseResult);
    const key = parseKey('parser-1', { file: 'Dockerfile' }, TEXT);
    t.truthy(s.getParsedDockerfile(key));
    // A doctored record shows that the second parse is the stored one, not a new parse.
    s.putParsedDockerfile(key, JSON.stringify({ ...first, file: 'from-the-store' }));
    t.is(parseRemembered(s, TEXT, { file: 'Dockerfile' }, 'parser-1').file, 'from-the-store');
    t.is(parseRemembered(s, TEXT, { file: 'Dockerfile' }, 'parser-2').file, 'Dockerfile', 'another parser parses again');
    t.is(parseRemembered(s, TEXT, { file: 'other.Dockerfile' }, 'parser-1').file, 'other.Dockerfile', 'another file name parses again');
    const skipAll = { skip: 'all' as const, error: false, raw: 'skip=all' };
    t.is(parseRemembered(s, 'FROM busybox as x\n', { file: 'Dockerfile' }, 'parser-1').warnings.length, 1);
    t.is(parseRemembered(s, 'FROM busybox as x\n', { file: 'Dockerfile', check: skipAll }, 'parser-1').warnings.length, 0, 'other check options parse again');
    t.is(parseRemembered(s, `${TEXT}CMD ["x"]\n`, { file: 'Dockerfile' }, 'parser-1').instructions.length, first.instructions.length + 1, 'another text parses again');
  });
});

test('a store that cannot keep the parse does not fail the build', (t) => {
  const full = { getParsedDockerfile: () => undefined, putParsedDockerfile: () => { throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }); } } as unknown as Store;
  t.is(parseRemembered(full, TEXT, { file: 'Dockerfile' }, 'parser-1').instructions.length, 5);
});

test('a Dockerfile that fails to parse is not remembered', async (t) => {
  await withStore(async (s) => {
    const bad = 'FROM busybox\nRUN --mount=type=nope true\n';
    t.throws(() => parseRemembered(s, bad, { file: 'Dockerfile' }, 'parser-1'));
    t.is(s.getParsedDockerfile(parseKey('parser-1', { file: 'Dockerfile' }, bad)), undefined);
  });
});

test('a parse too big to keep is not kept', async (t) => {
  await withStore(async (s) => {
    const big = `FROM busybox\n${'LABEL x="' + 'y'.repeat(2000) + '"\n'}`.repeat(600);
    t.is(parseRemembered(s, big, { file: 'Dockerfile' }, 'parser-1').instructions.length, 1200);
    t.is(s.getParsedDockerfile(parseKey('parser-1', { file: 'Dockerfile' }, big)), undefined);
  });
});

test('the store keeps only the newest parses', async (t) => {
  await withStore(async (s) => {
    for (let i = 0; i < 300; i++) s.putParsedDockerfile(`k${i}`, '{}');
    t.is(s.getParsedDockerfile('k0'), undefined);
    t.is(s.getParsedDockerfile('k299'), '{}');
  });
});

// Stored as JSON, a parse must come back as the same data: no class instances, Maps, Sets,
// bigints or undefined-valued fields whose presence could matter.
const EVERY_INSTRUCTION = [
  '# syntax=docker/dockerfile:1',
  '# check=skip=JSONArgsRecommended',
  'ARG BASE=busybox',
  'FROM --platform=$BUILDPLATFORM ${BASE} AS base',
  'ONBUILD RUN echo child',
  'SHELL ["/bin/sh", "-ec"]',
  'ENV A=1 B="two words"',
  'LABEL org.example.x="y" z=1',
  'USER 1000:1000',
  'WORKDIR /w',
  'RUN --mount=type=cache,target=/c,id=c1,sharing=locked --mount=type=secret,id=s,required=true --network=none echo hi',
  'RUN --mount=type=bind,from=base,source=/etc,target=/e,rw <<EOF',
  'echo $A',
  'EOF',
  'COPY --chown=1:2 --chmod=u+rwx,g=rx --link --parents --exclude=*.tmp a/./b* /dst/',
  'COPY <<one.txt <<-two.txt /files/',
  'first',
  'one.txt',
  '\tsecond',
  'two.txt',
  'ADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 https://example.com/x.tar /x',
  'ADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.1 /src',
  'EXPOSE 80/tcp 53/udp',
  'VOLUME ["/v"]',
  'STOPSIGNAL SIGTERM',
  'HEALTHCHECK --interval=5s --timeout=3s --start-period=1s --start-interval=1s --retries=3 CMD ["true"]',
  'ENTRYPOINT ["/bin/sh", "-c"]',
  'CMD echo done',
  'FROM scratch',
  'COPY --from=base / /',
  'HEALTHCHECK NONE',
].join('\n');

function* dockerfiles(): Generator<[string, string]> {
  yield ['every instruction', `${EVERY_INSTRUCTION}\n`];
  yield ['escape directive', '# escape=`\nFROM busybox\nRUN echo a `\n  b\nCOPY ["a", "b"]\n'];
  const parser = join(here, '..', '..', '..', 'shared', 'conformance', 'buildkit', 'parser');
  for (const name of existsSync(parser) ? readdirSync(parser) : []) yield [`parser/${name}`, readFileSync(join(parser, name, 'Dockerfile'), 'utf8')];
  for (const dir of [join(here, '..', '..', 'fixtures'), join(here, '..', '..', 'test')]) yield* dockerfilesUnder(dir);
}

function* dockerfilesUnder(dir: string): Generator<[string, string]> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* dockerfilesUnder(path);
    else if (/^Dockerfile/.test(e.name)) yield [path, readFileSync(path, 'utf8')];
  }
}

test('parse results are plain data that JSON keeps as they are', (t) => {
  let parsed = 0;
  for (const [name, text] of dockerfiles()) {
    let result: ParseResult;
    try {
      result = parseDockerfile(text, { file: 'Dockerfile' });
    } catch (e) {
      // Some of BuildKit's parser cases only parse to nodes (a bare HEALTHCHECK).
      if (name.startsWith('parser/')) continue;
      throw e;
    }
    parsed++;
    t.deepEqual(JSON.parse(JSON.stringify(result)), result, name);
  }
  t.true(parsed > 20, `only ${parsed} Dockerfiles parsed`);
});
