/**
 * Property-based fuzzing of the parser: Dockerfiles generated from a small grammar of
 * instructions, flags, heredocs, continuations and directives, plus random byte-level mutations
 * of the conformance Dockerfiles. Whatever the input, parseDockerfile either returns or throws a
 * DockerfileError whose position lies inside the input; anything else is a parser bug.
 * A failure prints fast-check's seed and path: rerun with FUZZ_SEED=<seed> to replay it.
 */
import test from 'ava';
import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileError } from '../common/errors.js';
import { parseDockerfile } from './index.js';

const data = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'conformance', 'buildkit');
const corpus = ['parser', 'parser-negative'].flatMap((kind) => {
  const dir = join(data, kind);
  return existsSync(dir) ? readdirSync(dir).map((n) => readFileSync(join(dir, n, 'Dockerfile'), 'utf8')) : [];
});

const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = (numRuns: number): fc.Parameters<[string]> => ({ numRuns, ...(seed === undefined ? {} : { seed }) });

/** Parses and returns undefined when the behaviour is acceptable, or what was wrong. */
function problem(text: string, parse: (text: string, o: { file: string }) => unknown = parseDockerfile): string | undefined {
  try {
    parse(text, { file: 'Dockerfile' });
    return undefined;
  } catch (e) {
    if (!(e instanceof DockerfileError)) return `not a DockerfileError: ${(e as Error)?.stack ?? String(e)}`;
    const { file, line, column } = e.position;
    const lines = text.split(/\r\n|\r|\n/).length;
    if (file !== 'Dockerfile') return `error names file ${file}`;
    if (!Number.isInteger(line) || line < 1 || line > lines + 1) return `line ${line} outside 1..${lines + 1}: ${e.message}`;
    if (!Number.isInteger(column) || column < 1) return `column ${column}: ${e.message}`;
    if (typeof e.code !== 'string' || e.code === '') return `no code: ${e.message}`;
    return undefined;
  }
}

const word = fc.stringMatching(/^[a-zA-Z0-9_./:$@{}-]{1,12}$/);
const quoted = fc.oneof(word, word.map((w) => `"${w}"`), word.map((w) => `'${w}'`), fc.constantFrom('""', '"', "'", '\\', '$', '${', '${A:-b}', '${A:?}', '\\$X'));
const args = fc.array(quoted, { maxLength: 5 }).map((a) => a.join(' '));
const jsonArgs = fc.array(fc.oneof(word, fc.constantFrom('\\"', '\\u00e9', '\\n')), { maxLength: 4 }).map((a) => `[${a.map((w) => `"${w}"`).join(', ')}]`);
const flag = fc.oneof(
  fc.constantFrom('--from=build', '--chown=1:1', '--chmod=755', '--link', '--parents', '--exclude=*.md', '--network=none', '--security=sandbox', '--platform=linux/amd64', '--interval=5s', '--retries=3', '--keep-git-dir=true', '--checksum=sha256:00'),
  fc.constantFrom('--mount=type=cache,target=/c', '--mount=type=bind,source=a,target=/b,rw', '--mount=type=secret,id=s', '--mount=type=tmpfs,target=/t,size=1m', '--mount=type=ssh', '--mount=type=bogus', '--mount=', '--'),
  word.map((w) => `--${w}`),
  word.map((w) => `--${w}=${w}`),
);
const keyword = fc.constantFrom('FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'from', 'Run', 'NOPE');
const heredoc = fc
  .tuple(fc.constantFrom('EOF', '"EOF"', "'EOF'", '-EOF', 'END'), fc.array(args, { maxLength: 3 }), fc.boolean())
  .map(([tag, body, closed]) => `<<${tag}\n${body.join('\n')}${closed ? `\n${tag.replace(/["'-]/g, '')}` : ''}`);
const instruction = fc
  .tuple(keyword, fc.array(flag, { maxLength: 2 }), fc.oneof(args, jsonArgs, heredoc, fc.constant('')), fc.constantFrom('', ' \\\n  more', ' \\\n# c\n  more', '\\', ' `\n x'))
  .map(([k, f, a, cont]) => [k, ...f, a].join(' ') + cont);
const special = fc.constantFrom('FROM busybox AS b', 'FROM scratch', 'FROM --platform=$BUILDPLATFORM b:1 AS x', 'ONBUILD RUN x', 'ONBUILD ONBUILD RUN x', 'HEALTHCHECK NONE', 'HEALTHCHECK CMD x', 'ENV A=1 B="2 3"', 'ENV A', 'LABEL a=b "c d"=e', 'ARG A=${B:-c}', 'COPY --from=0 / /', 'SHELL ["sh","-c"]');
const directive = fc.constantFrom('# syntax=docker/dockerfile:1', '# escape=`', '# escape=\\', '# escape=x', '# check=skip=all', '# check=error=true', '#directive=1', '# ESCAPE=`', '');
const line = fc.oneof({ weight: 6, arbitrary: instruction }, { weight: 2, arbitrary: special }, { weight: 1, arbitrary: fc.constantFrom('', '  ', '# comment', '\t', '\\', '\r') });
const eol = fc.constantFrom('\n', '\n', '\r\n', '\r');
const generated = fc
  .tuple(fc.array(directive, { maxLength: 3 }), fc.constantFrom('FROM busybox\n', 'FROM busybox AS a\n', ''), fc.array(fc.tuple(line, eol), { minLength: 1, maxLength: 12 }))
  .map(([dirs, from, body]) => [...dirs.map((d) => `${d}\n`), from, ...body.map(([l, e]) => l + e)].join(''));

type Edit = { at: number; kind: 'delete' | 'insert' | 'replace' | 'duplicate'; len: number; text: string };
const edit: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('delete', 'insert', 'replace', 'duplicate'),
  len: fc.integer({ min: 1, max: 40 }),
  text: fc.oneof(fc.constantFrom('\\\n', '\n', '<<EOF\n', '\nEOF\n', '"', '[', ']', '--', '=', '${', '}', '`', '#', '\u0000', '\uFFFD', '\r', ' \t'), fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 })),
});

function mutate(src: string, edits: Edit[]): string {
  let s = src;
  for (const e of edits) {
    const at = s.length === 0 ? 0 : e.at % (s.length + 1);
    if (e.kind === 'delete') s = s.slice(0, at) + s.slice(at + e.len);
    else if (e.kind === 'insert') s = s.slice(0, at) + e.text + s.slice(at);
    else if (e.kind === 'replace') s = s.slice(0, at) + e.text + s.slice(at + e.len);
    else s = s.slice(0, at) + s.slice(at, at + e.len) + s.slice(at);
  }
  return s;
}

test('the conformance corpus is there to mutate', (t) => {
  t.true(corpus.length > 10, `no conformance Dockerfiles under ${data}`);
});

/** Every input must parse or be rejected well; a failure shows the input and fast-check's seed. */
function assertAllParseOrReject(inputs: fc.Arbitrary<string>, numRuns: number): void {
  fc.assert(
    fc.property(inputs, (text) => {
      const p = problem(text);
      if (p !== undefined) throw new Error(`${p}\n--- input ---\n${JSON.stringify(text)}`);
    }),
    params(numRuns),
  );
}

test('4,000 generated Dockerfiles: parsed or rejected with a positioned DockerfileError', (t) => {
  assertAllParseOrReject(generated, 4000);
  t.pass();
});

test('3,000 mutated conformance Dockerfiles: parsed or rejected with a positioned DockerfileError', (t) => {
  const mutated = fc.tuple(fc.integer({ min: 0, max: Math.max(0, corpus.length - 1) }), fc.array(edit, { minLength: 1, maxLength: 6 })).map(([i, edits]) => mutate(corpus[i] ?? '', edits));
  assertAllParseOrReject(mutated, 3000);
  t.pass();
});

test('the oracle can fail: crashes and unpositioned errors are reported', (t) => {
  t.is(problem('FROM a\nNOPE x'), undefined);
  t.regex(problem('x', () => { throw new TypeError('boom'); }) ?? '', /not a DockerfileError/);
  t.regex(problem('x', () => { throw new DockerfileError('E_X', 'bad', { file: 'Dockerfile', line: 3, column: 1 }); }) ?? '', /line 3 outside/);
  t.regex(problem('x', () => { throw new DockerfileError('E_X', 'bad', { file: 'Dockerfile', line: 1, column: 0 }); }) ?? '', /column 0/);
});
