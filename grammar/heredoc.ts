import { DockerfileErrorCode } from './errors.js';
import { goQuote, isGoSpace } from './go-text.js';
import { LineProblem } from './problem.js';
import { expandWords, ShellExpansionError, type ExpandOptions } from './shell/index.js';

/** A heredoc marker found on an instruction line, before its body is read. */
export interface HeredocMarker {
  name: string;
  fileDescriptor: number;
  expand: boolean;
  chomp: boolean;
}

const reHeredoc = /^(\d*)<<(-?)([^<]*)$/;

/** BuildKit splits with its shell lexer, always with `\` as escape, an empty environment. */
function shellWords(s: string, options: ExpandOptions): string[] | ShellExpansionError {
  try {
    return expandWords(s, {}, { escapeToken: '\\', skipUnsetEnv: true, ...options });
  } catch (e) {
    if (e instanceof ShellExpansionError) return e;
    throw e;
  }
}

/**
 * BuildKit's ParseHeredoc: `[fd]<<[-]WORD` where WORD is one shell word; any quoting in WORD
 * turns expansion of the body off. Undefined when `src` is not a marker, a string (BuildKit's
 * error) when WORD cannot be lexed.
 */
function heredocFromWord(src: string): HeredocMarker | string | undefined {
  if (!src.includes('<<')) return undefined;
  const m = reHeredoc.exec(src);
  if (!m || m[3] === '') return undefined;
  const rest = m[3]!;
  const failed = (e: ShellExpansionError) => `failed to process ${goQuote(rest)}: ${e.message}`;
  const words = shellWords(rest, { rawQuotes: false });
  if (words instanceof ShellExpansionError) return failed(words);
  if (words.length !== 1) return undefined;
  const raw = shellWords(rest, { rawQuotes: true });
  if (raw instanceof ShellExpansionError) return failed(raw);
  if (raw.length !== 1) return `internal lexing of heredoc produced inconsistent results: ${rest}`;
  const quotes = (w: string) => w.split(/['"]/).length - 1;
  return {
    name: words[0]!,
    fileDescriptor: m[1] === '' ? 0 : Number.parseInt(m[1]!, 10),
    expand: quotes(words[0]!) === quotes(raw[0]!),
    chomp: m[2] === '-',
  };
}

/** BuildKit's MustParseHeredoc: the marker in `src`, or undefined (also when BuildKit's ParseHeredoc fails). */
export function parseHeredocMarker(src: string): HeredocMarker | undefined {
  const marker = heredocFromWord(src);
  return typeof marker === 'string' ? undefined : marker;
}

/** All heredoc markers of a logical line, in order, with the offset of each marker word. */
export function heredocMarkersInLine(line: string): (HeredocMarker & { offset: number })[] {
  if (!line.includes('<<')) return [];
  // A line the lexer cannot split has no heredocs (BuildKit ignores that error)...
  const words = shellWords(line, { rawQuotes: true, rawEscapes: true });
  if (words instanceof ShellExpansionError) return [];
  const found: (HeredocMarker & { offset: number })[] = [];
  let searchFrom = 0;
  for (const w of words) {
    const marker = heredocFromWord(w);
    const at = locateWord(line, w, searchFrom);
    if (at >= 0) searchFrom = at + 1;
    // ... but not one of its marker words (`<<${X:-a b}` splits into `<<${X:-a` and `b}`).
    if (typeof marker === 'string') throw new LineProblem(DockerfileErrorCode.Syntax, marker, Math.max(0, at));
    if (marker) found.push({ ...marker, offset: Math.max(0, at) });
  }
  return found;
}

/** Best-effort source offset of a raw word (for error positions only). */
function locateWord(line: string, word: string, from: number): number {
  const head = word.slice(0, 2);
  for (let i = line.indexOf(head, from); i >= 0; i = line.indexOf(head, i + 1)) {
    if (i === 0 || isGoSpace(line[i - 1]!)) return i;
  }
  return -1;
}

/** Body of a `<<-` heredoc with leading tabs removed from every line, as BuildKit does. */
export function chompHeredocContent(content: string): string {
  // Go's (?m)^ starts a line only after \n, unlike JavaScript's m flag.
  return content.replace(/(^|\n)\t+/g, '$1');
}
