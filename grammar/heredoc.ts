import { isGoSpace } from './go-text.js';
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
function shellWords(s: string, options: ExpandOptions): string[] | undefined {
  try {
    return expandWords(s, {}, { escapeToken: '\\', skipUnsetEnv: true, ...options });
  } catch (e) {
    if (e instanceof ShellExpansionError) return undefined;
    throw e;
  }
}

/**
 * BuildKit's ParseHeredoc: `[fd]<<[-]WORD` where WORD is one shell word; any quoting in WORD
 * turns expansion of the body off. Returns undefined when `src` is not a heredoc marker.
 */
export function parseHeredocMarker(src: string): HeredocMarker | undefined {
  if (!src.includes('<<')) return undefined;
  const m = reHeredoc.exec(src);
  if (!m || m[3] === '') return undefined;
  const rest = m[3]!;
  const words = shellWords(rest, { rawQuotes: false });
  if (!words || words.length !== 1) return undefined;
  const raw = shellWords(rest, { rawQuotes: true });
  if (!raw || raw.length !== 1) return undefined;
  const quotes = (w: string) => w.split(/['"]/).length - 1;
  return {
    name: words[0]!,
    fileDescriptor: m[1] === '' ? 0 : Number.parseInt(m[1]!, 10),
    expand: quotes(words[0]!) === quotes(raw[0]!),
    chomp: m[2] === '-',
  };
}

/** All heredoc markers of a logical line, in order, with the offset of each marker word. */
export function heredocMarkersInLine(line: string): (HeredocMarker & { offset: number })[] {
  if (!line.includes('<<')) return [];
  const words = shellWords(line, { rawQuotes: true, rawEscapes: true });
  if (!words) return [];
  const found: (HeredocMarker & { offset: number })[] = [];
  let searchFrom = 0;
  for (const w of words) {
    const marker = parseHeredocMarker(w);
    const at = locateWord(line, w, searchFrom);
    if (at >= 0) searchFrom = at + 1;
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
