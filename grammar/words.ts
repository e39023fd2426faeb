import { isGoSpace } from './go-text.js';
import type { Located } from './split-command.js';

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
    const cp = pos < n ? rest.codePointAt(pos)! : 0;
    let ch = pos < n ? String.fromCodePoint(cp) : '';
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
        ch = String.fromCodePoint(rest.codePointAt(pos)!);
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
      ch = String.fromCodePoint(rest.codePointAt(pos)!);
      width = ch.length;
    }
    word += ch;
    pos += width;
  }
  return words;
}
