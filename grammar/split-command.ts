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
  for (let i = start; i < end; i++) {
    if (line.charCodeAt(i) >= 0x80) return extractBuilderFlagsBytes(line, start, end, base, out);
  }
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

/** Go's unicode.IsSpace(rune(b)) for one byte: ASCII white space, and 0x85 and 0xA0 (NEL, NBSP). */
function isByteSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === 0x85 || b === 0xa0;
}

/**
 * extractBuilderFlags over text with non-ASCII characters. BuildKit walks the line byte by byte
 * (`ch = rune(line[pos])`) and appends each byte as a rune, so every byte of a multi-byte
 * character becomes the Latin-1 character of that value (`--chown=é` is the flag `--chown=Ã©`),
 * and the bytes 0x85 and 0xA0 inside a character count as white space (unicode.IsSpace). This
 * repeats that walk on the UTF-8 bytes, mapping byte positions back to offsets in `line`.
 */
function extractBuilderFlagsBytes(line: string, start: number, end: number, base: number, out: Located[]): number {
  const text = line.slice(start, end);
  const bytes = Buffer.from(text, 'utf8');
  const n = bytes.length;
  // Offset in `line` of each byte; a byte inside a character maps to the next character (Go would
  // start the arguments mid-character, which a JavaScript string cannot hold).
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
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  let phase = IN_SPACES;
  let word = '';
  let wordStart = 0;
  let quote = 0;
  let blankOK = false;
  let ch = 0;
  const push = () => out.push({ value: word, offset: base + at[wordStart]! });
  for (let pos = 0; pos <= n; pos++) {
    if (pos !== n) ch = bytes[pos]!;
    if (phase === IN_SPACES) {
      if (pos === n) break;
      if (isByteSpace(ch)) continue;
      if (ch !== 0x2d || pos + 1 === n || bytes[pos + 1] !== 0x2d) return at[pos]!;
      phase = IN_WORD;
      wordStart = pos;
    }
    if (pos === n) {
      if (word !== '--' && (blankOK || word.length > 0)) push();
      break;
    }
    if (phase === IN_WORD) {
      if (isByteSpace(ch)) {
        phase = IN_SPACES;
        if (word === '--') return at[pos]!;
        if (blankOK || word.length > 0) push();
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === 0x27 || ch === 0x22) {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
        continue;
      }
      if (ch === 0x5c) {
        if (pos + 1 === n) continue;
        ch = bytes[++pos]!;
      }
      word += String.fromCharCode(ch);
      continue;
    }
    if (ch === quote) {
      phase = IN_WORD;
      continue;
    }
    if (ch === 0x5c) {
      if (pos + 1 === n) {
        phase = IN_WORD;
        continue;
      }
      ch = bytes[++pos]!;
    }
    word += String.fromCharCode(ch);
  }
  return end;
}
