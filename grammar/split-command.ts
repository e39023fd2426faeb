import { RE_WHITESPACE, isGoSpace, leadingSpaceLength, trimRightSpace } from './go-text.js';

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

/** BuildKit's splitCommand: keyword, then `--flags`, then the rest of the line. */
export function splitCommand(line: string, base = 0): SplitCommand {
  const lead = leadingSpaceLength(line);
  const trimmed = trimRightSpace(line.slice(lead));
  const ws = RE_WHITESPACE.exec(trimmed);
  if (!ws) return { keyword: trimmed, keywordOffset: base + lead, flags: [], args: '', argsOffset: base + lead + trimmed.length };
  const restStart = lead + ws.index + ws[0].length;
  const { flags, argsStart } = extractBuilderFlags(trimmed.slice(ws.index + ws[0].length), base + restStart);
  const rawArgs = line.slice(restStart + argsStart);
  const argLead = leadingSpaceLength(rawArgs);
  return {
    keyword: trimmed.slice(0, ws.index),
    keywordOffset: base + lead,
    flags,
    args: trimRightSpace(rawArgs.slice(argLead)),
    argsOffset: base + restStart + argsStart + argLead,
  };
}

/**
 * BuildKit's extractBuilderFlags: leading words starting with `--` are flags (quotes removed,
 * backslash escapes the next character, `--` alone ends the flags). Returns where the
 * arguments start in `line`.
 */
function extractBuilderFlags(line: string, base: number): { flags: Located[]; argsStart: number } {
  const flags: Located[] = [];
  let inWord = false;
  let quote = '';
  let blankOK = false;
  let word = '';
  let wordStart = 0;
  for (let pos = 0; pos <= line.length; pos++) {
    const ch = pos < line.length ? line[pos]! : '';
    if (!inWord) {
      if (pos === line.length) break;
      if (isGoSpace(ch)) continue;
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') return { flags, argsStart: pos };
      inWord = true;
      wordStart = pos;
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push({ value: word, offset: base + wordStart });
      break;
    }
    if (quote === '') {
      if (isGoSpace(ch)) {
        inWord = false;
        if (word === '--') return { flags, argsStart: pos };
        if (blankOK || word.length > 0) flags.push({ value: word, offset: base + wordStart });
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) continue;
        pos++;
      }
      word += line[pos];
      continue;
    }
    if (ch === quote) {
      quote = '';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === line.length) {
        quote = '';
        continue;
      }
      pos++;
    }
    word += line[pos];
  }
  return { flags, argsStart: line.length };
}
