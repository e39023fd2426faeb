import { isGoSpaceCode, isReWhitespaceCode, leadingSpaceLength } from './go-text.js';

export interface Located {
  value: string;
  /** Offset in the logical line. */
  offset: number;
}

export interface SplitCommand {
  /** Keyword as written. */
  keyword: string;
  keywordOffset: number;
  flags: Located[];
  /** Everything after the keyword and flags, trimmed. */
  args: string;
  argsOffset: number;
}

const noFlags: Located[] = [];

/**
 * BuildKit's splitCommand: keyword, then `--flags`, then the rest of the line. Works on indexes
 * into `line` (no intermediate substrings): this runs once per instruction.
 */
export function splitCommand(line: string, base = 0): SplitCommand {
  const lead = leadingSpaceLength(line);
  let end = line.length;
  while (end > lead && isGoSpaceCode(line.charCodeAt(end - 1))) end--;
  let keywordEnd = lead;
  while (keywordEnd < end && !isReWhitespaceCode(line.charCodeAt(keywordEnd))) keywordEnd++;
  const keyword = line.slice(lead, keywordEnd);
  if (keywordEnd === end) return { keyword, keywordOffset: base + lead, flags: noFlags, args: '', argsOffset: base + end };
  let restStart = keywordEnd;
  while (isReWhitespaceCode(line.charCodeAt(restStart))) restStart++;
  const flags: Located[] = [];
  const argsAt = extractBuilderFlags(line, restStart, end, base, flags);
  const argsStart = argsAt + leadingSpaceLength(line, argsAt);
  return {
    keyword,
    keywordOffset: base + lead,
    flags: flags.length === 0 ? noFlags : flags,
    args: argsStart >= end ? '' : line.slice(argsStart, end),
    argsOffset: base + argsStart,
  };
}

/**
 * BuildKit's extractBuilderFlags over `line[start, end)`: leading words starting with `--` are
 * flags (quotes removed, backslash escapes the next character, `--` alone ends the flags).
 * Appends the flags to `out`; returns where the arguments start. A word is built from slices of
 * its unquoted runs, never character by character.
 */
function extractBuilderFlags(line: string, start: number, end: number, base: number, out: Located[]): number {
  let pos = start;
  for (;;) {
    while (pos < end && isGoSpaceCode(line.charCodeAt(pos))) pos++;
    if (pos === end) return end;
    if (line.charCodeAt(pos) !== 0x2d || pos + 1 === end || line.charCodeAt(pos + 1) !== 0x2d) return pos;
    const wordStart = pos;
    let word = '';
    let run = pos;
    let quote = 0;
    let blankOK = false;
    for (; pos < end; pos++) {
      const c = line.charCodeAt(pos);
      if (quote === 0 && isGoSpaceCode(c)) break;
      if (quote === 0 && (c === 0x27 || c === 0x22)) {
        word += line.slice(run, pos);
        run = pos + 1;
        quote = c;
        blankOK = true;
      } else if (quote !== 0 && c === quote) {
        word += line.slice(run, pos);
        run = pos + 1;
        quote = 0;
      } else if (c === 0x5c) {
        // The escaped character is kept (the run restarts at it); a final backslash is dropped.
        word += line.slice(run, pos);
        run = pos + 1;
        if (pos + 1 === end) quote = 0;
        else pos++;
      }
    }
    word += line.slice(run, pos);
    if (pos === end) {
      if (word !== '--' && (blankOK || word.length > 0)) out.push({ value: word, offset: base + wordStart });
      return end;
    }
    if (word === '--') return pos;
    if (blankOK || word.length > 0) out.push({ value: word, offset: base + wordStart });
  }
}
