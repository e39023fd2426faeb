/**
 * Go text primitives BuildKit's parser is built on, reproduced exactly so splitting and
 * trimming match byte for byte: `unicode.IsSpace`, `strings.TrimSpace` and `strconv.Quote`.
 */

/** Characters for which Go's `unicode.IsSpace` is true (JS `\s` differs: it has U+FEFF, lacks U+0085). */
export const GO_SPACE_CLASS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** `unicode.IsSpace` of one UTF-16 code unit (every Go space is in the BMP). */
export function isGoSpaceCode(c: number): boolean {
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return (
    c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000
  );
}

export function isGoSpace(ch: string): boolean {
  return isGoSpaceCode(ch.charCodeAt(0));
}

/** A character of BuildKit's `reWhitespace` class `[\t\v\f\r ]`. */
export function isReWhitespaceCode(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x0d;
}

/** Length of the leading Go whitespace of `s` from `from` on. */
export function leadingSpaceLength(s: string, from = 0): number {
  let i = from;
  while (i < s.length && isGoSpaceCode(s.charCodeAt(i))) i++;
  return i - from;
}

export function trimLeftSpace(s: string): string {
  return s.slice(leadingSpaceLength(s));
}

export function trimRightSpace(s: string): string {
  let end = s.length;
  while (end > 0 && isGoSpaceCode(s.charCodeAt(end - 1))) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** Go's strings.TrimSpace: unlike String#trim, U+FEFF is no space and U+0085 is one. */
export function trimSpace(s: string): string {
  return trimLeftSpace(trimRightSpace(s));
}

/**
 * Go's `strings.ToLower`: each rune by its simple lowercase mapping. JavaScript's toLowerCase
 * differs in two places: U+0130 (İ) becomes `i` plus a combining dot, and a final Σ becomes ς.
 */
export function goToLower(s: string): string {
  const lower = s.toLowerCase();
  if (lower.length === s.length && !lower.includes('\u03c2')) return lower;
  return s.replace(/\u0130/g, 'i').replace(/\u03a3/g, '\u03c3').toLowerCase();
}

/** Go's `strings.EqualFold(s, "as")`: simple case folding also takes ſ (U+017F) for s. */
export function equalFoldAs(s: string): boolean {
  return /^[aA][sS\u017f]$/.test(s);
}

/** BuildKit's `reWhitespace`: the separator of whitespace-delimited arguments. */
export const RE_WHITESPACE = /[\t\v\f\r ]+/;

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go's `strconv.Quote`: the format of every string in BuildKit's AST dump. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') {
      out += '\\' + ch;
    } else if (cp >= 0x20 && cp < 0x7f) {
      out += ch;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate cannot come from valid UTF-8; Go would have decoded it as U+FFFD.
      out += '\ufffd';
    } else if (cp >= 0x80 && printable.test(ch)) {
      out += ch;
    } else {
      switch (cp) {
        case 0x07: out += '\\a'; break;
        case 0x08: out += '\\b'; break;
        case 0x0c: out += '\\f'; break;
        case 0x0a: out += '\\n'; break;
        case 0x0d: out += '\\r'; break;
        case 0x09: out += '\\t'; break;
        case 0x0b: out += '\\v'; break;
        default:
          if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
          else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
          else out += '\\U' + cp.toString(16).padStart(8, '0');
      }
    }
  }
  return out + '"';
}
