import test from 'ava';
import { KilnError } from '../../common/errors.js';
import { expandHeredocBody, expandWord, expandWords, expandWordWithMatches, ShellExpansionError, type ShellEnv } from './index.js';

const env: ShellEnv = { SET: 'value', EMPTY: '', PWD: '/home', SPACE: 'a  b' };

function failure(word: string, e: ShellEnv = env, escapeToken?: '\\' | '`'): ShellExpansionError {
  try {
    expandWord(word, e, escapeToken ? { escapeToken } : {});
  } catch (err) {
    if (err instanceof ShellExpansionError) return err;
    throw err;
  }
  throw new Error(`expected ${word} to fail`);
}

test('plain $VAR and ${VAR}; unset expands to empty', (t) => {
  t.is(expandWord('a$SET-b', env), 'avalue-b');
  t.is(expandWord('a${SET}b', env), 'avalueb');
  t.is(expandWord('a${NOPE}b$NOPE', env), 'ab');
  t.is(expandWord('$SETx', env), '');
});

test('names: letters incl. Unicode, digits, _; digits-first names are positional; special parameters', (t) => {
  t.is(expandWord('$KOREAN_1!', { KOREAN_1: '한' }), '한!');
  t.is(expandWord('$이름.', { 이름: 'x' }), 'x.');
  t.is(expandWord('$1x', { 1: 'one' }), 'onex');
  t.is(expandWord('$123abc', { 123: 'n' }), 'nabc');
  t.is(expandWord('$@a$*b$#c$?d$-e$$f$!g$0h', env), 'abcdefgh');
  t.is(expandWord('$$', { $: 'pid' }), 'pid');
});

test('a $ not followed by a name is literal, including at the end of the word', (t) => {
  t.is(expandWord('$', env), '$');
  t.is(expandWord('a$', env), 'a$');
  t.is(expandWord('$.x', env), '$.x');
  t.is(expandWord('$ x', env), '$ x');
  t.is(expandWord('"a$"', env), 'a$');
});

test('${VAR-w} and ${VAR:-w}', (t) => {
  t.is(expandWord('${SET-w}', env), 'value');
  t.is(expandWord('${EMPTY-w}', env), '');
  t.is(expandWord('${NOPE-w}', env), 'w');
  t.is(expandWord('${SET:-w}', env), 'value');
  t.is(expandWord('${EMPTY:-w}', env), 'w');
  t.is(expandWord('${NOPE:-w}', env), 'w');
  t.is(expandWord('${NOPE:-}', env), '');
});

test('${VAR+w} and ${VAR:+w}', (t) => {
  t.is(expandWord('${SET+w}', env), 'w');
  t.is(expandWord('${EMPTY+w}', env), 'w');
  t.is(expandWord('${NOPE+w}', env), '');
  t.is(expandWord('${SET:+w}', env), 'w');
  t.is(expandWord('${EMPTY:+w}', env), '');
  t.is(expandWord('${NOPE:+w}', env), '');
});

test('${VAR?msg} and ${VAR:?msg}: value when allowed, BuildKit messages otherwise', (t) => {
  t.is(expandWord('${SET?m}', env), 'value');
  t.is(expandWord('${EMPTY?m}', env), '');
  t.is(expandWord('${SET:?m}', env), 'value');
  t.is(failure('${NOPE?}').message, 'NOPE: is not allowed to be unset');
  t.is(failure('${NOPE:?}').message, 'NOPE: is not allowed to be unset');
  t.is(failure('${EMPTY:?}').message, 'EMPTY: is not allowed to be empty');
  t.is(failure('${NOPE?custom text}').message, 'NOPE: custom text');
  const err = failure('ab${EMPTY:?message here$SET}');
  t.is(err.message, 'EMPTY: message herevalue');
  t.is(err.code, 'E_SHELL_REQUIRED_VARIABLE');
  t.is(err.offset, 2);
  t.is(err.word, 'ab${EMPTY:?message here$SET}');
  t.true(err instanceof KilnError);
  t.regex(err.hint ?? '', /--build-arg EMPTY=/);
});

test('default and alternative words are expanded, nested to any depth', (t) => {
  t.is(expandWord('${NOPE:-$PWD}', env), '/home');
  t.is(expandWord('${NOPE:-${NOPE2:-${SET}x}}y', env), 'valuexy');
  t.is(expandWord('${SET:+${PWD}:}', env), '/home:');
  t.is(expandWord('${NOPE:-"a}b"}', env), 'a}b');
  t.is(expandWord("${NOPE:-'$SET'}", env), '$SET');
  t.is(expandWord('${NOPE:-\\}}', env), '}');
  t.is(expandWord('${NOPE:-\\${SET}z}x', env), '${SETz}x');
  t.is(expandWord('${NOPE:-a b}', env), 'a b');
});

test('# and ## strip the shortest and longest prefix', (t) => {
  const e = { V: 'a/b/c.tar.gz' };
  t.is(expandWord('${V#*/}', e), 'b/c.tar.gz');
  t.is(expandWord('${V##*/}', e), 'c.tar.gz');
  t.is(expandWord('${V#x}', e), 'a/b/c.tar.gz');
  t.is(expandWord('${V#}', e), 'a/b/c.tar.gz');
  t.is(expandWord('${V##}', e), 'a/b/c.tar.gz');
  t.is(expandWord('${V#?/}', e), 'b/c.tar.gz');
  t.is(expandWord('${V#*}', e), 'a/b/c.tar.gz');
  t.is(expandWord('${V##*}', e), '');
  t.is(expandWord('${NOPE#*}', e), '');
});

test('% and %% strip the shortest and longest suffix', (t) => {
  const e = { V: 'a/b/c.tar.gz', I: 'busybox:latest' };
  t.is(expandWord('${V%.*}', e), 'a/b/c.tar');
  t.is(expandWord('${V%%.*}', e), 'a/b/c');
  t.is(expandWord('${I%:*}:stable', e), 'busybox:stable');
  t.is(expandWord('${V%}', e), 'a/b/c.tar.gz');
  t.is(expandWord('${V%gz}', e), 'a/b/c.tar.');
  t.is(expandWord('${V%%*}', e), '');
});

test('pattern cases from BuildKit', (t) => {
  t.is(expandWord('${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' }), 'x');
  t.is(expandWord('${FOO%%\\**}', { FOO: 'xx**' }), 'xx');
  t.is(expandWord('${FOO#*x*y}', { FOO: 'xxyy' }), 'y');
  t.is(expandWord('${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }), 'xyy');
  t.is(expandWord('${FOO#$BAR}', { FOO: 'xxyy', BAR: '' }), 'xxyy');
  t.is(expandWord('${FOO##*x}', { FOO: 'xxyy' }), 'yy');
  t.is(expandWord('${FOO#?\\?}', { FOO: '???y' }), '?y');
  t.is(expandWord('${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' }), '.xxyy.');
  t.is(expandWord('${FOO%%\\**\\*}', { FOO: 'a***yy*' }), 'a');
  t.is(expandWord('${FOO%%$BAR}', { FOO: 'xxyy', BAR: '' }), 'xxyy');
});

test('brackets are literal in patterns, as in BuildKit (no [...] classes)', (t) => {
  t.is(expandWord('${V#[ab]}', { V: 'a[ab]c' }), 'a[ab]c');
  t.is(expandWord('${V#[ab]}', { V: '[ab]c' }), 'c');
});

test('wildcards do not match a newline (Go regexp semantics)', (t) => {
  t.is(expandWord('${V##*}', { V: 'a\nb' }), '\nb');
  t.is(expandWord('${V#?}', { V: '\nb' }), '\nb');
});

test('patterns and values work on code points, not UTF-16 units', (t) => {
  t.is(expandWord('${V#?}', { V: '🚀x' }), 'x');
  t.is(expandWord('${V%?}', { V: 'x👽' }), 'x');
  t.is(expandWord('${V%%\\*?}', { V: 'a*🖖' }), 'a');
  t.is(expandWord('${V//?/.}', { V: '👽🚀' }), '..');
});

test('/ and // replace the first and every match', (t) => {
  t.is(expandWord('${V/ba/fo}', { V: 'foobarbaz' }), 'fooforbaz');
  t.is(expandWord('${V//ba/fo}', { V: 'foobarbaz' }), 'fooforfoz');
  t.is(expandWord('${V/$N/.} - ${V//$N/.}', { V: '/foo*/*/*.txt', N: '\\*/' }), '/foo.*/*.txt - /foo..*.txt');
  t.is(expandWord('${V/$N/} - ${V//$N/}', { V: '/tmp/tmp/bar.txt', N: '/tmp' }), '/tmp/bar.txt - /bar.txt');
  t.is(
    expandWord('${V/$N/$R} - ${V//$N/$R}', { V: '/a/foo/b/c.txt', N: '/?/', R: '/' }),
    '/foo/b/c.txt - /foo/c.txt',
  );
  t.is(expandWord('${V/$N/$R}', { V: 'http://google.de', N: 'http://', R: 'https://' }), 'https://google.de');
  t.is(expandWord('${V//\\//\\/}', { V: '/tmp/foo.txt' }), '\\/tmp\\/foo.txt');
  t.is(expandWord('${V/$E/ww}', { V: 'xxyy', E: '' }), 'wwxxyy');
  t.is(expandWord('${V///}', { V: 'xxyy' }), 'xxyy');
  t.is(expandWord('${NOPE///}', {}), '');
  t.is(expandWord('${V/a*/X}', { V: 'baaa' }), 'bX');
});

test('// follows Go ReplaceAllString: no replacement for an empty match right after a match', (t) => {
  t.is(expandWord('${V//*/r}', { V: 'abc' }), 'r');
  t.is(expandWord('${V//$E/-}', { V: 'ab', E: '' }), '-a-b-');
  t.is(expandWord('${NOPE//*/r}', {}), 'r');
});

test('// replacement is a Go template ($0 is the match, $$ a dollar); / is literal', (t) => {
  const e = { V: 'a.b', R0: '<$0>', R1: '[$1${x}]', RD: '$$', RB: '${0}!', RM: '$ ${' };
  t.is(expandWord('${V//./$R0}', e), 'a<.>b');
  t.is(expandWord('${V//./$R1}', e), 'a[]b');
  t.is(expandWord('${V//./$RD}', e), 'a$b');
  t.is(expandWord('${V//./$RB}', e), 'a.!b');
  t.is(expandWord('${V//./$RM}', e), 'a$ ${b');
  t.is(expandWord('${V/./$R0}', e), 'a<$0>b');
});

test('quotes: single quotes are literal, double quotes expand', (t) => {
  t.is(expandWord("'$SET \\x'", env), '$SET \\x');
  t.is(expandWord('"$SET \\x"', env), 'value \\x');
  t.is(expandWord(`"it's"`, env), "it's");
  t.is(expandWord(`'"q"'`, env), '"q"');
  t.is(expandWord(`a'b'"c"d`, env), 'abcd');
  t.is(expandWord(`""`, env), '');
});

test('escapes outside quotes: any character, dropped at the end of the word', (t) => {
  t.is(expandWord('\\$SET', env), '$SET');
  t.is(expandWord("\\'x", env), "'x");
  t.is(expandWord('\\"x', env), '"x');
  t.is(expandWord('a\\tb', env), 'atb');
  t.is(expandWord('a\\\\b', env), 'a\\b');
  t.is(expandWord('ab\\', env), 'ab');
});

test('escapes inside double quotes: only ", $ and the escape character itself', (t) => {
  t.is(expandWord('"\\"\\$SET\\\\"', env), '"$SET\\');
  t.is(expandWord('"a\\tb\\\'c"', env), "a\\tb\\'c");
  t.is(failure('"ab\\"').code, 'E_SHELL_UNTERMINATED_QUOTE');
});

test('backtick as escape character: backslash becomes ordinary', (t) => {
  const o = { escapeToken: '`' as const };
  t.is(expandWord('C:\\dir\\$SET', env, o), 'C:\\dir\\value');
  t.is(expandWord('`$SET', env, o), '$SET');
  t.is(expandWord('"a`"b`$SET``"', env, o), 'a"b$SET`');
  t.is(expandWord('"a`x"', env, o), 'a`x');
  t.is(expandWord('ab`', env, o), 'ab');
  t.is(expandWord('${V#\\*}', { V: '*x' }, o), 'x');
  t.is(expandWord('${V#`*}', { V: '`abc' }, o), 'abc');
  t.is(expandWord('${V##`*}', { V: '`abc' }, o), '');
  t.is(failure('${SET#\\a}', env, '`').code, 'E_SHELL_INVALID_PATTERN');
});

test('quotes inside a pattern do not make wildcards literal (BuildKit)', (t) => {
  t.is(expandWord('${V#"*"}', { V: 'abc' }), 'abc');
  t.is(expandWord('${V##"*"}', { V: 'abc' }), '');
});

test('errors: missing brace', (t) => {
  for (const word of ['${', 'x${PWD', '${aaa:-bbb', '${aaa:-bbb ${foo}', '${X:-${Y:?}', "${X:-'a", '${X:', '${X}${Y']) {
    const err = failure(word);
    t.is(err.code, 'E_SHELL_MISSING_BRACE', word);
    t.is(err.message, "syntax error: missing '}'", word);
  }
  t.is(failure('ab${X:-"c').offset, 2);
  t.is(failure('${X}${Y').offset, 4);
  t.truthy(failure("${X:-'a").cause, 'the inner failure is kept as the cause');
});

test('errors: bad substitution', (t) => {
  for (const word of ['${}', '${}aaa', 'he${}xx', '${:}', '${:-bbb}', '${{X}}']) {
    const err = failure(word);
    t.is(err.code, 'E_SHELL_BAD_SUBSTITUTION', word);
    t.is(err.message, 'syntax error: bad substitution', word);
  }
  t.is(failure('he${}xx').offset, 2);
  t.regex(failure('${}').hint ?? '', /\\\$/);
  t.regex(failure('${}', env, '`').hint ?? '', /`\$/);
});

test('errors: unsupported modifiers', (t) => {
  const cases: Array<[string, string]> = [
    ['${X=a}', '='],
    ['${SET:=000}', ':='],
    ['${X:YYY}', ':Y'],
    ['${X:#a}', ':#'],
    ['${X:##a}', ':#'],
    ['${X:%a}', ':%'],
    ['${X:%%a}', ':%'],
    ['he${.}', '.'],
    ['${X.y}', '.'],
    ['${#X}', 'X'],
  ];
  for (const [word, modifier] of cases) {
    const err = failure(word);
    t.is(err.code, 'E_SHELL_UNSUPPORTED_MODIFIER', word);
    t.is(err.message, `unsupported modifier (${modifier}) in substitution`, word);
  }
  t.is(failure('ab${SET=x}').offset, 7);
});

test('errors: the word of ${X:=w} is read (and can fail) before the modifier is rejected', (t) => {
  t.is(failure('${X:=${}}').code, 'E_SHELL_BAD_SUBSTITUTION');
  t.is(failure('${X=${}}').code, 'E_SHELL_UNSUPPORTED_MODIFIER');
});

test('errors: replacement form needs both slashes', (t) => {
  for (const word of ['${FOO//ww}', '${FOO//}', '${FOO/a}']) {
    const err = failure(word, { FOO: 'xxyy' });
    t.is(err.code, 'E_SHELL_MISSING_SLASH', word);
    t.is(err.message, "syntax error: missing '/' in ${}", word);
  }
  t.is(failure('${FOO/a/b', { FOO: 'x' }).code, 'E_SHELL_MISSING_BRACE');
});

test('errors: unterminated quotes point at the opening quote', (t) => {
  const single = failure("ab'cd");
  t.is(single.code, 'E_SHELL_UNTERMINATED_QUOTE');
  t.is(single.message, 'unexpected end of statement while looking for matching single-quote');
  t.is(single.offset, 2);
  const double = failure('a"b');
  t.is(double.message, 'unexpected end of statement while looking for matching double-quote');
  t.is(double.offset, 1);
  t.is(failure("he\\\\'llo").offset, 4);
});

test('errors: invalid pattern escapes', (t) => {
  const err = failure('${V#a\\x}', { V: 'a' });
  t.is(err.code, 'E_SHELL_INVALID_PATTERN');
  t.is(err.message, "invalid pattern (a\\x) in substitution: invalid escape '\\x'");
  t.is(err.offset, 4);
  t.is(failure('${V%\\$X}', { V: 'a' }).message, "invalid pattern (\\$X) in substitution: invalid escape '\\$'");
  t.is(failure('${V/\\a/b}', { V: 'a' }).code, 'E_SHELL_INVALID_PATTERN');
});

test('expandWordWithMatches reports set and unset variables (BuildKit table)', (t) => {
  const cases: Array<[string, Record<string, string>, string, string[], string[]]> = [
    ['x', { DUMMY: 'dummy' }, 'x', [], []],
    ['x ${UNUSED}', { DUMMY: 'dummy' }, 'x ', [], ['UNUSED']],
    ['x ${FOO}', { FOO: 'y' }, 'x y', ['FOO'], []],
    ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx  ccc', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx bbb ccc', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:-}', { FOO: 'xxx', BAR: '' }, 'xxx', ['FOO'], []],
    ['${FOO:-}', {}, '', [], ['FOO']],
    ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa bbb ', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa  ', ['FOO', 'BAR'], ['BAZ']],
    ['${FOO?aaa}', { FOO: 'xxx', BAR: '' }, 'xxx', ['FOO'], []],
    ['${BAR?bbb}', { FOO: 'xxx', BAR: '' }, '', ['BAR'], []],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }, 'xyy', ['FOO', 'BAR'], []],
    ['${X:-$Y}$1$', { Y: 'y' }, 'y$', ['Y'], ['X', '1']],
    ['${FOO/$N/$R}', { FOO: 'a', N: 'a', R: 'b' }, 'b', ['FOO', 'N', 'R'], []],
    ["'$QUOTED' \\$ESCAPED", {}, '$QUOTED $ESCAPED', [], []],
  ];
  for (const [word, e, result, matched, unmatched] of cases) {
    const got = expandWordWithMatches(word, e);
    t.is(got.result, result, word);
    t.deepEqual([...got.matched].sort(), [...matched].sort(), `${word} matched`);
    t.deepEqual([...got.unmatched].sort(), [...unmatched].sort(), `${word} unmatched`);
  }
});

test('expandWordWithMatches: the release-file-name example from BuildKit', (t) => {
  const word = 'something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz';
  const full = expandWordWithMatches(word, { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7' });
  t.is(full.result, 'something-v1.2.3.linux-arm-v7.tar.gz');
  t.deepEqual([...full.matched].sort(), ['TARGETARCH', 'TARGETOS', 'TARGETVARIANT', 'VERSION']);
  const noVariant = expandWordWithMatches(word, { VERSION: 'v1.2.3', TARGETOS: 'linux', TARGETARCH: 'amd64' });
  t.is(noVariant.result, 'something-v1.2.3.linux-amd64.tar.gz');
  t.deepEqual([...noVariant.unmatched], ['TARGETVARIANT']);
});

test('ShellEnv: Map or record, case-sensitive, own properties only', (t) => {
  t.is(expandWord('$A-$a', new Map([['A', '1']])), '1-');
  t.is(expandWord('$A-$a', { a: '2' }), '-2');
  t.is(expandWord('[$constructor][$toString][$__proto__]', {}), '[][][]');
  t.deepEqual([...expandWordWithMatches('$constructor', {}).unmatched], ['constructor']);
  const nullProto: Record<string, string> = Object.create(null);
  nullProto.X = 'x';
  t.is(expandWord('$X', nullProto), 'x');
});

test('expandWords splits unquoted text and variable values, never quoted or escaped text', (t) => {
  const e = { space: 'abc  def', leading: '  ab c', tab: 'a\tb\nc' };
  t.deepEqual(expandWords('a "b c" $space', e), ['a', 'b c', 'abc', 'def']);
  t.deepEqual(expandWords('x${leading}', e), ['x', 'ab', 'c']);
  t.deepEqual(expandWords('$tab', e), ['a', 'b', 'c']);
  t.deepEqual(expandWords('a\\ b "" c', e), ['a b', 'c']);
  t.deepEqual(expandWords('  ', e), []);
  t.deepEqual(expandWords("'$space'", e), ['$space']);
  t.deepEqual(expandWords('${NOPE:-"a b"}', e), ['a', 'b'], 'a ${} result splits even if quoted inside, as in BuildKit');
  t.deepEqual(expandWords('pre${NOPE:-x}post', e), ['prexpost']);
  t.throws(() => expandWords('a "b', e), { instanceOf: ShellExpansionError });
});

test('option processQuotes: false leaves quotes alone but still expands and unescapes (heredoc bodies)', (t) => {
  const o = { processQuotes: false };
  t.is(expandWord(`echo "$SET" '$SET' \\$SET a\\nb`, env, o), `echo "value" 'value' $SET anb`);
  t.is(expandWord(`it's`, env, o), `it's`);
});

test('option rawQuotes keeps quote characters', (t) => {
  t.is(expandWord(`a"$SET"'$SET'`, env, { rawQuotes: true }), `a"value"'$SET'`);
  t.deepEqual(expandWords(`"a b" c`, env, { rawQuotes: true }), ['"a b"', 'c']);
});

test('option rawEscapes keeps escape characters', (t) => {
  t.is(expandWord('a\\$SET\\ b', env, { rawEscapes: true }), 'a\\$SET\\ b');
  t.is(expandWord('"a\\"b"', env, { rawEscapes: true }), 'a\\"b');
  t.deepEqual(expandWords('<<EOF\\ x y', env, { rawEscapes: true }), ['<<EOF\\ x', 'y']);
});

test('option skipUnsetEnv keeps references to unset variables as written', (t) => {
  const o = { skipUnsetEnv: true };
  t.is(expandWord('$NOPE $SET ${NOPE} $1', env, o), '$NOPE value ${NOPE} $1');
  t.is(expandWord('${NOPE:-$SET}', env, o), '${NOPE:-value}');
  t.is(expandWord('${NOPE##*/}', env, o), '${NOPE##*/}');
  t.is(expandWord('${NOPE:?no}', env, o), '${NOPE:?no}');
  t.is(expandWord('${NOPE//a/b}', env, o), '${NOPE/a/b}');
  t.is(expandWord('${EMPTY:-d}', env, o), 'd');
  t.is(failure('${EMPTY:?}', env).code, 'E_SHELL_REQUIRED_VARIABLE');
});

test("BuildKit's heredoc-marker split (rawQuotes + rawEscapes + skipUnsetEnv, empty env)", (t) => {
  const o = { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true };
  t.deepEqual(expandWords(`cat <<"EOF" > $FILE`, {}, o), ['cat', '<<"EOF"', '>', '$FILE']);
  t.deepEqual(expandWords(`python3 <<'E O F' \\"x\\"`, {}, o), ['python3', `<<'E O F'`, '\\"x\\"']);
  t.deepEqual(expandWords('a <<-EOF${X:-1 2}', {}, o), ['a', '<<-EOF${X:-1', '2}']);
});

test('a byte-order mark that starts the word or a pattern is dropped, as Go text/scanner does', (t) => {
  t.is(expandWord('\ufeffab', env), 'ab');
  t.deepEqual(expandWords('\ufeffa b', env), ['a', 'b']);
  t.is(expandWord('a\ufeffb', env), 'a\ufeffb');
  // Only the scanner's first character: the word of ${X:-w} is read by the same scanner.
  t.is(expandWord('${NOPE:-\ufeffw}', env), '\ufeffw');
  // Patterns get a scanner of their own; ${X%p} reverses p first, so its last character counts.
  t.is(expandWord('${X#\ufeffa}', { X: 'abc' }), 'bc');
  t.is(expandWord('${X%c\ufeff}', { X: 'abc' }), 'ab');
  t.is(expandWord('${X/\ufeffb/-}', { X: 'abc' }), 'a-c');
});

test('COPY heredoc bodies: BuildKit ExpandRaw lexer, escape always \\ and quotes left alone', (t) => {
  // Even under `# escape=\``: the body lexer is NewLex('\\') with SkipProcessQuotes.
  t.is(expandHeredocBody('a `$SET \\$SET "$SET" \'$SET\'\n', env), 'a `value $SET "value" \'value\'\n');
  t.is(expandWord('`$SET', env, { escapeToken: '`', processQuotes: false }), '$SET');
});
