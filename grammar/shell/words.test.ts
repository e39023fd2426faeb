import test from 'ava';
import fc from 'fast-check';
import { expandWord, expandWords } from './index.js';
import { isShellSpace, WordSplitter } from './words.js';

test('white space is Unicode White_Space, like Go unicode.IsSpace', (t) => {
  for (const ch of [' ', '\t', '\n', '\v', '\f', '\r', '\u0085', '\u00a0', '\u2003', '\u3000', '\u2028']) {
    t.true(isShellSpace(ch), JSON.stringify(ch));
  }
  for (const ch of ['\ufeff', '\u200b', 'a', '_']) t.false(isShellSpace(ch), JSON.stringify(ch));
});

test('WordSplitter keeps raw text whole and drops empty words', (t) => {
  const w = new WordSplitter();
  w.addString('  a b ');
  w.addRaw('c d');
  w.addRaw('');
  w.addString('e  ');
  w.addRaw('');
  t.deepEqual(w.finish(), ['a', 'b', 'c de']);
});

const plain = fc.stringMatching(/^[a-z0-9 \t\n./:_-]*$/);

test('property: text without $, quotes or escapes expands to itself', (t) => {
  fc.assert(
    fc.property(plain, (s) => expandWord(s, {}) === s),
  );
  t.pass();
});

test('property: expandWords of plain text is a white-space split', (t) => {
  fc.assert(
    fc.property(plain, (s) => {
      const expected = s.split(/[ \t\n]+/).filter((w) => w !== '');
      const actual = expandWords(s, {});
      return JSON.stringify(actual) === JSON.stringify(expected);
    }),
  );
  t.pass();
});

test('property: a single-quoted value is always one word, unchanged', (t) => {
  fc.assert(
    fc.property(fc.string().filter((s) => !s.includes("'") && s !== ''), (s) => {
      const words = expandWords(`'${s}'`, { X: 'y' });
      return words.length === 1 && words[0] === s;
    }),
  );
  t.pass();
});
