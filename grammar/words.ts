import { isGoSpace } from './go-text.js';
import type { Located } from './split-command.js';

/** The code point at `pos` as a string (Go walks runes, not UTF-16 units). */
function charAt(s: string, pos: number): string {
  const c = s.charCodeAt(pos);
  if (c >= 0xd800 && c < 0xdc00 && pos + 1 < s.length) {
    const d = s.charCodeAt(pos + 1);
    if (d >= 0xdc00 && d < 0xe000) return s.slice(pos, pos + 2);
  }
  return s[pos]!;
}

/**
 * BuildKit's parseWords: split on whitespace outside quotes. Quotes and escapes are KEPT in the
 * words (they are removed later, when the words are expanded).
 */
export function parseWords(rest: string, escape: string, base = 0): Located[] {
  const words: Located[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let word = '';
  let start = 0;
  const n = rest.length;
  for (let pos = 0; pos <= n; ) {
    let ch = pos < n ? charAt(rest, pos) : '';
    let width = ch.length;
    if (phase === 'spaces') {
      if (pos === n) break;
      if (isGoSpace(ch)) {
        pos += width;
        continue;
      }
      phase = 'word';
      start = pos;
    }
    if (pos === n) {
      if (blankOK || word.length > 0) words.push({ value: word, offset: base + start });
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push({ value: word, offset: base + start });
        word = '';
        blankOK = false;
        pos += width;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + width === n) {
          pos += width;
          continue;
        }
        // An escaped character, even a quote, is taken as is, with its escape.
        word += ch;
        pos += width;
        ch = charAt(rest, pos);
        width = ch.length;
      }
      word += ch;
      pos += width;
      continue;
    }
    if (ch === quote) phase = 'word';
    // The escape character escapes nothing inside single quotes.
    if (ch === escape && quote !== "'") {
      if (pos + width === n) {
        phase = 'word';
        pos += width;
        continue;
      }
      pos += width;
      word += ch;
      ch = charAt(rest, pos);
      width = ch.length;
    }
    word += ch;
    pos += width;
  }
  return words;
}
