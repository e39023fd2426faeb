import { isGoSpaceCode } from './go-text.js';
import type { Located } from './split-command.js';

/**
 * BuildKit's parseWords: split on whitespace outside quotes. Quotes and escapes are KEPT in the
 * words (they are removed later, when the words are expanded), so a word is a slice of `rest`,
 * less an escape character that ends the input. Walking UTF-16 units gives the same words as
 * Go's runes: no space, quote or escape character is a surrogate.
 */
export function parseWords(rest: string, escape: string, base = 0): Located[] {
  const words: Located[] = [];
  const esc = escape.charCodeAt(0);
  const n = rest.length;
  let pos = 0;
  for (;;) {
    while (pos < n && isGoSpaceCode(rest.charCodeAt(pos))) pos++;
    if (pos === n) return words;
    const start = pos;
    let end = -1;
    let quote = 0;
    let blankOK = false;
    for (; pos < n; pos++) {
      const c = rest.charCodeAt(pos);
      if (quote === 0) {
        if (isGoSpaceCode(c)) break;
        if (c === 0x27 || c === 0x22) {
          quote = c;
          blankOK = true;
          continue;
        }
      } else if (c === quote) {
        quote = 0;
        continue;
      }
      // The escape character escapes nothing inside single quotes.
      if (c === esc && quote !== 0x27) {
        if (pos + 1 === n) end = pos;
        else pos++;
      }
    }
    const value = rest.slice(start, end < 0 ? pos : end);
    if (blankOK || value.length > 0) words.push({ value, offset: base + start });
  }
}
