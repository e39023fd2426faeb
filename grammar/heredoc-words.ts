import { isGoSpace } from './go-text.js';

export interface ShellSplitOptions {
  /** Keep quote characters in the words. */
  rawQuotes: boolean;
  /** Keep backslashes in the words. */
  rawEscapes: boolean;
}

/**
 * Splits a line into shell words the way BuildKit's shell lexer does with an empty environment
 * and unset variables left as written: the only job here is finding heredoc markers (`<<EOF`),
 * so no expansion happens. Returns undefined for an unterminated quote.
 */
export function splitShellWords(s: string, opts: ShellSplitOptions): string[] | undefined {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (isGoSpace(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === '\\') {
      if (opts.rawEscapes) word += ch;
      if (i + 1 < s.length) word += s[++i];
      continue;
    }
    if (ch === "'" || ch === '"') {
      const close = ch === "'" ? s.indexOf("'", i + 1) : closingDoubleQuote(s, i + 1);
      if (close < 0) return undefined;
      let inner = s.slice(i + 1, close);
      if (ch === '"' && !opts.rawEscapes) inner = inner.replace(/\\([\\"$`])/g, '$1');
      word += opts.rawQuotes ? ch + inner + ch : inner;
      i = close;
      continue;
    }
    word += ch;
  }
  if (inWord) words.push(word);
  return words;
}

function closingDoubleQuote(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}
