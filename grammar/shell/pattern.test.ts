import test from 'ava';
import { PatternSyntaxError, replacePattern, shellPatternToRegExp, trimPrefix, trimSuffix } from './pattern.js';

test('wildcards and escapes become the right regular expression', (t) => {
  t.is(shellPatternToRegExp('*', true, true).source, '^[^\\n]*');
  t.is(shellPatternToRegExp('*', false, true).source, '^[^\\n]*?');
  t.is(shellPatternToRegExp('?', true, false).source, '[^\\n]');
  t.is(shellPatternToRegExp('\\*', true, true).source, '^\\*');
  t.is(
    shellPatternToRegExp('(()[]{\\}^$.\\*\\?|\\\\', true, true).source,
    '^\\(\\(\\)\\[\\]\\{\\}\\^\\$\\.\\*\\?\\|\\\\',
  );
  t.true(shellPatternToRegExp('a\\/b', true, true).test('a/b'));
  t.false(shellPatternToRegExp('a\\/b', true, true).test('a\\/b'));
});

test('bad escapes are rejected', (t) => {
  for (const pattern of ['\\', '\\x', '\\\\\\', 'a\\$']) {
    t.throws(() => shellPatternToRegExp(pattern, true, true), { instanceOf: PatternSyntaxError }, pattern);
  }
});

test('trimPrefix: shortest vs longest', (t) => {
  t.is(trimPrefix('xxyy', '*x', false), 'xyy');
  t.is(trimPrefix('xxyy', '*x', true), 'yy');
  t.is(trimPrefix('xxyy', 'y', true), 'xxyy');
});

test('trimSuffix reverses patterns without separating an escape from its character', (t) => {
  t.is(trimSuffix('a*c*c', '\\*c', false), 'a*c');
  t.is(trimSuffix('a*c*c', '\\**', true), 'a');
  t.is(trimSuffix('x\\b', '\\\\b', false), 'x');
  t.is(trimSuffix('🖖🚀👽', '🚀?', false), '🖖');
});

test('replacePattern: first match is literal, all matches use Go template rules', (t) => {
  t.is(replacePattern('aXbXc', 'X', '$0$0', false), 'a$0$0bXc');
  t.is(replacePattern('aXbXc', 'X', '$0$0', true), 'aXXbXXc');
  t.is(replacePattern('abc', '*', '-', true), '-');
  t.is(replacePattern('abxd', 'x', '', true), 'abd');
  t.is(replacePattern('', '*', 'e', true), 'e');
  t.is(replacePattern('', '*', 'e', false), 'e');
  t.is(replacePattern('a.b', '.', '${0}${00}$00$x$', true), 'a.$b');
});
