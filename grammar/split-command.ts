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
 * Appends the flags to `out`; returns where the arguments start.
 *
 * BuildKit walks the line byte by byte (`ch = rune(line[pos])`) and appends each byte as a rune,
 * so every byte of a multi-byte character becomes the Latin-1 character of that value
 * (`--chown=é` is the flag `--chown=Ã©`), and the bytes 0x85 and 0xA0 inside a character count as
 * white space (unicode.IsSpace). Text with non-ASCII characters is therefore scanned as its UTF-8
 * bytes read as Latin-1, with byte positions mapped back to offsets in `line`.
 */
function extractBuilderFlags(line: string, start: number, end: number, base: number, out: Located[]): number {
  for (let i = start; i < end; i++) {
    if (line.charCodeAt(i) < 0x80) continue;
    const text = line.slice(start, end);
    const bytes = Buffer.from(text, 'utf8');
    const at = byteOffsets(text, start, end, bytes.length);
    return at[scanFlags(bytes.toString('latin1'), 0, bytes.length, (pos) => base + at[pos]!, out)]!;
  }
  return scanFlags(line, start, end, (pos) => base + pos, out);
}

/**
 * The flag scan over `text[start, end)`, `offsetOf` giving a word's offset in the logical line;
 * returns where the arguments start, as an index into `text`. A word is built from slices of its
 * unquoted runs, never character by character.
 */
function scanFlags(text: string, start: number, end: number, offsetOf: (pos: number) => number, out: Located[]): number {
  let pos = start;
  for (;;) {
    while (pos < end && isGoSpaceCode(text.charCodeAt(pos))) pos++;
    if (pos === end) return end;
    if (text.charCodeAt(pos) !== 0x2d || pos + 1 === end || text.charCodeAt(pos + 1) !== 0x2d) return pos;
    const wordStart = pos;
    let word = '';
    let run = pos;
    let quote = 0;
    let blankOK = false;
    for (; pos < end; pos++) {
      const c = text.charCodeAt(pos);
      if (quote === 0 && isGoSpaceCode(c)) break;
      if (quote === 0 && (c === 0x27 || c === 0x22)) {
        word += text.slice(run, pos);
        run = pos + 1;
        quote = c;
        blankOK = true;
      } else if (quote !== 0 && c === quote) {
        word += text.slice(run, pos);
        run = pos + 1;
        quote = 0;
      } else if (c === 0x5c) {
        // The escaped character is kept (the run restarts at it); a final backslash is dropped.
        word += text.slice(run, pos);
        run = pos + 1;
        if (pos + 1 === end) quote = 0;
        else pos++;
      }
    }
    word += text.slice(run, pos);
    if (pos === end) {
      if (word !== '--' && (blankOK || word.length > 0)) out.push({ value: word, offset: offsetOf(wordStart) });
      return end;
    }
    if (word === '--') return pos;
    if (blankOK || word.length > 0) out.push({ value: word, offset: offsetOf(wordStart) });
  }
}

/**
 * The offset in `line` of each UTF-8 byte of `text` (`line[start, end)`), and `end` for the byte
 * count: a byte inside a character maps to the next character (Go would start the arguments
 * mid-character, which a JavaScript string cannot hold).
 */
function byteOffsets(text: string, start: number, end: number, n: number): Int32Array {
  const at = new Int32Array(n + 1);
  let b = 0;
  let u = start;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    const next = u + ch.length;
    at[b] = u;
    for (let k = 1; k < size; k++) at[b + k] = next;
    b += size;
    u = next;
  }
  at[n] = end;
  return at;
}
