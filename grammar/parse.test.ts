import test from 'ava';
import { validateGrammar } from './line-structure.js';
import {
  DirectiveError,
  DockerfileErrorCode,
  DockerfileParseError,
  UnterminatedHeredocError,
  dumpAst,
  parseDockerfile,
  parseSingleInstruction,
  parseDockerfileNodes,
} from './index.js';

const dump = (src: string) => dumpAst(parseDockerfileNodes(src));
const fails = (t: import('ava').ExecutionContext, src: string) => t.throws(() => parseDockerfile(src, { file: 'Df' }), { instanceOf: DockerfileParseError })!;

test('directives: syntax, escape and check are read, case-insensitively', (t) => {
  const r = parseDockerfile('# SYNTAX = docker/dockerfile:1\n#Escape=`\n# check=skip=JSONArgsRecommended,StageNameCasing;error=true\nFROM x\n');
  t.deepEqual(r.directives, {
    syntax: 'docker/dockerfile:1',
    escape: '`',
    check: { skip: ['JSONArgsRecommended', 'StageNameCasing'], error: true, raw: 'skip=JSONArgsRecommended,StageNameCasing;error=true' },
  });
  t.is(r.escapeToken, '`');
});

test('directives: any Go white space may follow the #, as DirectiveParser trims it with unicode.IsSpace', (t) => {
  t.is(parseDockerfile('#\vescape=`\nFROM x\n').escapeToken, '`');
  t.is(parseDockerfile('#\u00a0\u2003syntax=a\nFROM x\n').directives.syntax, 'a');
  // Only after the #: the name still ends at ASCII white space or =.
  t.deepEqual(parseDockerfile('# escape\u00a0=`\nFROM x\n').directives, {});
});

test('escape directive: backtick continues lines and a backslash is literal', (t) => {
  t.is(dump('# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo hi\n'), '(from "x")\n(run "dir c:\\\\   && echo hi")\n');
});

test('escape directive is ignored after a comment, a blank line or an instruction, with a warning', (t) => {
  const r = parseDockerfile('# hello\n# escape=`\nFROM x\nRUN a `\n');
  t.is(r.escapeToken, '\\');
  t.is(dumpAst(r), '(from "x")\n(run "a `")\n');
  t.deepEqual(r.warnings.map((w) => [w.code, w.position.line]), [['InvalidDirectivePosition', 2]]);
  t.is(parseDockerfile('\n# escape=`\nFROM x\n').escapeToken, '\\');
});

test('check directive read as BuildKit linter.ParseLintOptions', (t) => {
  const check = (v: string) => parseDockerfile(`# check=${v}\nFROM x\n`).directives.check;
  t.like(check('error=1'), { error: true, skip: [] });
  t.like(check('skip=all;skip=A'), { skip: 'all' });
  t.like(check('skip=A, B;experimental=all'), { skip: ['A', 'B'] });
  // Keys and "all" are case-sensitive; error is a Go bool; a fourth part stays in the third.
  t.is(fails(t, '# check=SKIP=all\nFROM x\n').message, 'invalid check option "SKIP"');
  t.like(check('skip=ALL'), { skip: ['ALL'] });
  t.regex(fails(t, '# check=error=yes\nFROM x\n').message, /failed to parse check option "error=yes"/);
  t.like(check('skip=a;error=true;skip=b;x=y'), { skip: ['b;x=y'], error: true });
  t.is(fails(t, '# check=skip=a;\nFROM x\n').message, 'invalid check option ""');
  // BuildKit's parser.Parse only records the directive (dockerfile2llb's linter rejects the value),
  // so the raw parse and its dump succeed; the typed parse (a build) fails at the directive's line.
  t.is(dump('# check=bogus\nFROM x\n'), '(from "x")\n');
  t.is(dump('# check=error=maybe\n# escape=`\nFROM x `\n  y\n'), '(from "x" "y")\n');
  t.deepEqual(fails(t, '# syntax=a\n# check=bogus\nFROM x\n').position, { file: 'Df', line: 2, column: 1 });
  t.notThrows(() => parseDockerfile('# check=bogus\nFROM x\n', { check: { skip: [], error: false, raw: '' } }));
});

test('duplicate and invalid directives are errors with the line', (t) => {
  const dup = t.throws(() => parseDockerfile('# syntax=a\n# Syntax=b\nFROM x\n', { file: 'Df' }), { instanceOf: DirectiveError })!;
  t.is(dup.message, 'only one syntax parser directive can be used');
  t.deepEqual(dup.position, { file: 'Df', line: 2, column: 1 });
  const bad = t.throws(() => parseDockerfile('# escape=x\nFROM x\n'), { instanceOf: DirectiveError })!;
  t.regex(bad.message, /invalid escape token 'x'/);
  t.is(fails(t, '# check=skip=all;error=maybe\nFROM x\n').code, DockerfileErrorCode.Directive);
});

test('keywords are case-insensitive; the node keeps both spellings', (t) => {
  const r = parseDockerfileNodes('from x\nRuN echo\n');
  t.deepEqual(r.nodes.map((n) => [n.keyword, n.keywordAsWritten]), [['from', 'from'], ['run', 'RuN']]);
});

test('comments: collected above an instruction, dropped inside continuations', (t) => {
  const r = parseDockerfileNodes('# about x\nFROM x\nRUN a \\\n  # inside\n  b\n');
  t.deepEqual(r.nodes[0]!.comments, ['about x']);
  t.is(dumpAst(r), '(from "x")\n(run "a   b")\n');
});

test('empty continuation lines are skipped and give a NoEmptyContinuation warning', (t) => {
  const r = parseDockerfile('FROM x\nRUN a \\\n\n  b\n');
  t.is(dumpAst(r), '(from "x")\n(run "a   b")\n');
  t.deepEqual(r.warnings.map((w) => [w.code, w.position.line, w.message]), [['NoEmptyContinuation', 3, 'Empty continuation line found in: RUN a   b']]);
});

test('trailing backslash at end of file ends the instruction', (t) => {
  t.is(dump('FROM x\nRUN a \\'), '(from "x")\n(run "a")\n');
  t.is(dump('FROM x\nRUN a \\\n'), '(from "x")\n(run "a")\n');
});

test('CRLF input and a UTF-8 BOM parse like LF input', (t) => {
  t.is(dump('\ufeffFROM x\r\nRUN a \\\r\n  b\r\nENV K v\r\n'), '(from "x")\n(run "a   b")\n(env "K" "v" "")\n');
  t.is(parseDockerfile('\ufeff# escape=`\r\nFROM x\r\n').escapeToken, '`');
  // Only the file's first BOM is dropped; another one is part of the keyword, and the dump keeps
  // it (Go's strings.TrimSpace does not trim U+FEFF, unlike String#trim).
  t.is(dump('\ufeff\ufeffFROM x\n'), '(\ufefffrom "")\n');
  t.is(dump('FROM x\n\ufeffRUN a\n\ufeff\n'), '(from "x")\n(\ufeffrun "")\n(\ufeff "")\n');
});

test('JSON form: the whole argument must be one JSON array (json.Unmarshal), else shell form', (t) => {
  t.is(dump('CMD ["a", "b"] trailing\n'), '(cmd "[\\"a\\", \\"b\\"] trailing")\n');
  t.is(dump('ENTRYPOINT []<-x\n'), '(entrypoint "[]<-x")\n');
  t.is(dump('COPY ["a"] ["b"]\n'), '(copy "[\\"a\\"]" "[\\"b\\"]")\n');
  // Not valid JSON as a whole, so not the non-string error either.
  t.is(dump('RUN ["a", 1] x\n'), '(run "[\\"a\\", 1] x")\n');
  t.is(dump('RUN ["a", 1e999]\n'), '(run "[\\"a\\", 1e999]")\n');
  t.is(dump("CMD ['a']\n"), '(cmd "[\'a\']")\n');
  t.is(dump('CMD ["a",]\n'), '(cmd "[\\"a\\",]")\n');
  t.is(dump('COPY [ "a b" ] \n'), '(copy "a b")\n');
  t.is(dump('COPY ["a" x\n'), '(copy "[\\"a\\"" "x")\n');
  t.is(dump('RUN [ "\\u2603" ]\n'), '(run "☃")\n');
  const err = fails(t, 'FROM x\nRUN ["a", 1]\n');
  t.is(err.message, 'when using JSON array syntax, arrays must be comprised of strings only');
  t.deepEqual(err.position, { file: 'Df', line: 2, column: 5 });
  t.true(parseDockerfileNodes('CMD ["a"]\n').nodes[0]!.json);
});

test('ENV and LABEL: key=value pairs with quotes, and the legacy form', (t) => {
  t.is(dump('ENV A=1 B="x y" C=\'z\' D=e\\ f\n'), '(env "A" "1" "=" "B" "\\"x y\\"" "=" "C" "\'z\'" "=" "D" "e\\\\ f" "=")\n');
  t.is(dump('LABEL  key   some value  \n'), '(label "key" "some value" "")\n');
  t.is(fails(t, 'FROM x\nENV A=1 B\n').message, 'Syntax error - can\'t find = in "B". Must be of the form: name=value');
  t.is(fails(t, 'FROM x\nENV =1\n').message, 'ENV names can not be blank');
  const env = parseDockerfile('FROM x\nENV A=1 B="2 3"\nLABEL k v\n').instructions;
  t.deepEqual(env[1], { ...env[1]!, kind: 'env', pairs: [{ key: 'A', value: '1', legacyForm: false }, { key: 'B', value: '"2 3"', legacyForm: false }] });
  t.like(env[2], { kind: 'label', pairs: [{ key: 'k', value: 'v', legacyForm: true }] });
});

test('ENV/LABEL word without =: quoted in the message with Go %q, not JSON', (t) => {
  t.is(fails(t, 'FROM x\nLABEL a=b c\u0001\u00e9\u00ad\n').message, 'Syntax error - can\'t find = in "c\\x01\u00e9\\u00ad". Must be of the form: name=value');
});

test('ARG with and without defaults, quotes kept raw', (t) => {
  const r = parseDockerfile('ARG a b=1 c="x y" d=\nFROM x\n');
  t.like(r.instructions[0], { kind: 'arg', args: [{ key: 'a' }, { key: 'b', value: '1' }, { key: 'c', value: '"x y"' }, { key: 'd', value: '' }] });
  t.false('value' in (r.instructions[0] as { args: object[] }).args[0]!);
  t.is(fails(t, 'ARG =x\nFROM x\n').message, 'ARG names can not be blank');
  // parseArg never calls flags.Parse(): flags on ARG are not checked, just ignored.
  t.like(parseDockerfile('ARG --foo=1 --bar X=2\nFROM x\n').instructions[0], { kind: 'arg', args: [{ key: 'X', value: '2' }] });
  t.is(fails(t, 'FROM x\nARG\n').message, 'ARG requires at least one argument');
});

test('heredocs: <<EOF, <<-EOF, quoted delimiters, several on one line, file descriptors', (t) => {
  const src = 'FROM x\nRUN <<EOF\necho $A\nEOF\nRUN <<-"END" 3<<\'B\' cat\n\techo hi\n\tEND\nb\nB\nCOPY <<A /a\nx\nA\n';
  const r = parseDockerfile(src);
  t.is(dumpAst(r), '(from "x")\n(run "<<EOF")\n(run "<<-\\"END\\" 3<<\'B\' cat")\n(copy "<<A" "/a")\n');
  const [, run1, run2, copy] = r.instructions;
  t.like(run1, { kind: 'run', heredocs: [{ name: 'EOF', content: 'echo $A\n', expand: true, chomp: false, fileDescriptor: 0 }] });
  t.like(run2, {
    kind: 'run',
    heredocs: [
      { name: 'END', content: '\techo hi\n', expand: false, chomp: true },
      { name: 'B', content: 'b\n', expand: false, fileDescriptor: 3 },
    ],
  });
  t.like(copy, { kind: 'copy', sources: [], inlineSources: [{ path: 'A', data: 'x\n', expand: true }], dest: '/a' });
  t.deepEqual(r.nodes[1]!.range, { start: { line: 2, column: 1 }, end: { line: 4, column: 4 } });
});

test('heredocs only where supported: not in JSON form, not for other instructions', (t) => {
  t.is(dump('FROM x\nRUN ["cat", "<<EOF"]\nCMD <<EOF\n'), '(from "x")\n(run "cat" "<<EOF")\n(cmd "<<EOF")\n');
  t.is(dump('FROM x\nONBUILD RUN <<EOF\nhi\nEOF\n'), '(from "x")\n(onbuild (run "<<EOF"))\n');
});

test('unterminated heredoc is an error pointing at the marker', (t) => {
  const err = t.throws(() => parseDockerfile('FROM x\nRUN cat <<EOF\nabc\n', { file: 'Df' }), { instanceOf: UnterminatedHeredocError })!;
  t.deepEqual(err.position, { file: 'Df', line: 2, column: 9 });
  t.is(err.sourceLine, 'RUN cat <<EOF');
  t.is(err.code, DockerfileErrorCode.UnterminatedHeredoc);
});

test('flags: as written in the node, with positions; `--` ends flags', (t) => {
  const r = parseDockerfileNodes('COPY --from=a  --chown="1 2" -- --x y\n');
  t.deepEqual(r.nodes[0]!.flags, [
    { text: '--from=a', position: { line: 1, column: 6 } },
    { text: '--chown=1 2', position: { line: 1, column: 16 } },
  ]);
  t.deepEqual(r.nodes[0]!.args.map((a) => [a.value, a.position.column]), [['--x', 33], ['y', 37]]);
});

test('flags are read byte by byte, as in BuildKit extractBuilderFlags: UTF-8 bytes become Latin-1 runes, NBSP bytes split', (t) => {
  t.is(dump('RUN --mount=type=bind,target=/donn\u00e9es x\n'), '(run ["--mount=type=bind,target=/donn\u00c3\u00a9es"] "x")\n');
  t.is(dump('COPY --chown="\u00e9 f" --from=x -- a b\n'), '(copy ["--chown=\u00c3\u00a9 f" "--from=x"] "a" "b")\n');
  t.is(dump('RUN --a=\\\u00e9 b\n'), '(run ["--a=\u00c3\u00a9"] "b")\n');
  // à is C3 A0, and A0 alone is a space to unicode.IsSpace(rune(b)).
  t.is(dump('COPY --chown=\u00e0:b x y\n'), '(copy ["--chown=\u00c3"] ":b" "x" "y")\n');
  // A leading NBSP is its bytes C2 A0: C2 is no space and no "--", so there are no flags.
  t.is(dump('RUN \u00a0--foo x\n'), '(run "--foo x")\n');
  const r = parseDockerfileNodes('RUN --a=\u00e9 --b=\u{1f600} c\n');
  t.deepEqual(r.nodes[0]!.flags.map((f) => f.position.column), [5, 11]);
  t.is(r.nodes[0]!.args[0]!.position.column, 18);
  t.is(r.nodes[0]!.args[0]!.value, 'c');
});

test('HEALTHCHECK splits type and command byte by byte, as BuildKit parseHealthConfig', (t) => {
  // NBSP is C2 A0: C2 stays in the type, A0 separates; Go keeps the lone byte, we a U+FFFD.
  t.is(dump('HEALTHCHECK CMD\u00a0echo hi\n'), '(healthcheck "CMD\ufffd" "echo hi")\n');
  // After the ASCII space only the ASCII white space is skipped, so the NBSP stays in the command.
  t.is(dump('HEALTHCHECK CMD \u00a0echo h\u00e9\n'), '(healthcheck "CMD" "\\u00a0echo h\u00e9")\n');
  // ... but parseJSON trims all Go white space before looking for the [.
  t.is(dump('HEALTHCHECK CMD \u00a0["a"]\n'), '(healthcheck "CMD" "a")\n');
  t.is(dump('HEALTHCHECK CMD echo h\u00e9\n'), '(healthcheck "CMD" "echo h\u00e9")\n');
});

test('positions: columns count from the physical line, also across continuations', (t) => {
  const r = parseDockerfileNodes('FROM x\n   RUN a \\\n  b c\n');
  const run = r.nodes[1]!;
  t.deepEqual(run.range.start, { line: 2, column: 4 });
  t.deepEqual(run.range.end, { line: 3, column: 6 });
  t.deepEqual(run.args[0]!.position, { line: 2, column: 8 });
});

test('MAINTAINER is parsed with a deprecation warning', (t) => {
  const r = parseDockerfile('FROM x\nMAINTAINER Jane <j@x>\n');
  t.like(r.instructions[1], { kind: 'maintainer', maintainer: 'Jane <j@x>' });
  t.deepEqual(r.warnings.map((w) => w.code), ['MaintainerDeprecated']);
  t.deepEqual(parseDockerfile('# check=skip=all\nFROM x\nMAINTAINER j\n').warnings, []);
});

test('empty file and comment-only file are errors', (t) => {
  t.is(fails(t, '').code, DockerfileErrorCode.Empty);
  t.is(fails(t, '# a\n\n   \n').message, 'file with no instructions');
});

test('parseSingleInstruction types one instruction without stage rules and refuses more than one', (t) => {
  const ins = parseSingleInstruction('EXPOSE 80/tcp 53/udp');
  t.is(ins.kind, 'expose');
  t.deepEqual(ins.kind === 'expose' ? ins.ports : [], ['80/tcp', '53/udp']);
  const e = t.throws(() => parseSingleInstruction('CMD a\nCMD b', { file: 'change' }));
  t.true(e instanceof DockerfileParseError);
  t.deepEqual((e as DockerfileParseError).position, { file: 'change', line: 2, column: 1 });
});

test("the grammar passes Chevrotain's own validations (skipped at run time to save start-up)", (t) => {
  t.notThrows(() => validateGrammar());
});

test('a line of 64 KiB or more fails like BuildKit bufio.Scanner; what precedes it is parsed first', (t) => {
  const a = 'a'.repeat(65536);
  // BuildKit's TestParseReturnsScannerErrors.
  const err = fails(t, `\n\t\tFROM image\n\t\tLABEL test=${a}\n`);
  t.is(err.message, 'dockerfile line greater than max allowed size of 65535');
  t.deepEqual(err.position, { file: 'Df', line: 3, column: 1 });
  // The limit is in UTF-8 bytes of the line without its \n.
  t.notThrows(() => parseDockerfileNodes(`FROM x\nRUN ${'a'.repeat(65535 - 4)}\n`));
  t.is(fails(t, `FROM x\nRUN ${'a'.repeat(65536 - 4)}\n`).message, 'dockerfile line greater than max allowed size of 65535');
  t.is(fails(t, `FROM x\nRUN ${'\u00e9'.repeat(32766)}\n`).message, 'dockerfile line greater than max allowed size of 65535');
  // The scanner never gets past the line: an empty prefix has no instructions, an open heredoc is unterminated.
  t.is(fails(t, `# c\n${a}\nFROM x\n`).message, 'file with no instructions');
  t.regex(fails(t, `FROM x\nRUN <<EOF\n${a}\nEOF\n`).message, /unterminated heredoc/);
});

test('a heredoc marker word the shell lexer rejects fails the parse, as BuildKit heredocsFromLine returns ParseHeredoc errors', (t) => {
  // The line splits (the ${...} text is re-split at its space) into `<<${X:-a` and `b}`.
  const err = fails(t, 'FROM x\nRUN cat <<${X:-a b}\n');
  t.is(err.message, 'failed to process "${X:-a": syntax error: missing \'}\'');
  t.deepEqual(err.position, { file: 'Df', line: 2, column: 9 });
  // A line that cannot be split at all just has no heredocs.
  t.is(dump('RUN cat <<E${X:-a\n'), '(run "cat <<E${X:-a")\n');
  // The instruction level (MustParseHeredoc) never fails: a source that is no marker is a path.
  t.like(parseDockerfile('FROM x\nCOPY ["<<${X:-a", "/d"]\n').instructions[1], { kind: 'copy', sources: ['<<${X:-a'] });
});
