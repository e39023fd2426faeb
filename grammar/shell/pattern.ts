/**
 * Shell patterns for `${VAR#p}`, `${VAR%p}` and `${VAR/p/r}`, with BuildKit's semantics:
 * `*` and `?` are wildcards, `\*`, `\?` and `\\` are literals, `\}` and `\/` stand for `}`
 * and `/`, and everything else (brackets included) is literal: BuildKit has no `[...]`.
 * Matching follows Go's regexp: `.` never matches a newline, and replace-all skips an empty
 * match right after a previous match.
 */

/** Thrown for a pattern BuildKit rejects; the expander turns it into a positioned error. */
export class PatternSyntaxError extends Error {}

const REGEX_SYNTAX = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|']);
const ANY_CHAR = '[^\\n]';

function escapeLiteral(ch: string): string {
  return REGEX_SYNTAX.has(ch) ? `\\${ch}` : ch;
}

/** Builds the regular expression for a shell pattern (`greedy` decides how much `*` takes). */
export function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean, flags = 'u'): RegExp {
  // Go's text/scanner, which BuildKit reads the pattern with, skips a leading byte-order mark.
  const chars = Array.from(pattern.charCodeAt(0) === 0xfeff ? pattern.slice(1) : pattern);
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '*') {
      out += greedy ? `${ANY_CHAR}*` : `${ANY_CHAR}*?`;
    } else if (ch === '?') {
      out += ANY_CHAR;
    } else if (ch === '\\') {
      const following = chars[i + 1];
      // `\}` and `\/` only keep the delimiter out of the ${} syntax; the escape is not part of the pattern.
      if (following === '}' || following === '/') continue;
      if (following === undefined) throw new PatternSyntaxError(`invalid escape '\\' at end of pattern`);
      if (following !== '*' && following !== '?' && following !== '\\') {
        throw new PatternSyntaxError(`invalid escape '\\${following}'`);
      }
      out += `\\${following}`;
      i++;
    } else {
      out += escapeLiteral(ch);
    }
  }
  return new RegExp(out, flags);
}

/** `${VAR#p}` / `${VAR##p}`: drop the shortest (or longest) prefix matching the pattern. */
export function trimPrefix(value: string, pattern: string, greedy: boolean): string {
  const match = shellPatternToRegExp(pattern, greedy, true).exec(value);
  return match ? value.slice(match[0].length) : value;
}

// Reverses a pattern but keeps each escape before the character it escapes: a\*c -> c\*a.
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = [];
  for (let i = 0; i < chars.length; ) {
    if (chars[i] === '\\' && i !== chars.length - 1) {
      out.unshift('\\', chars[i + 1]!);
      i += 2;
    } else {
      out.unshift(chars[i]!);
      i++;
    }
  }
  return out.join('');
}

function reverseString(s: string): string {
  return Array.from(s).reverse().join('');
}

/**
 * `${VAR%p}` / `${VAR%%p}`. A regular expression cannot find the shortest match that ends
 * at the end of the string, so both sides are reversed and it becomes a prefix trim.
 */
export function trimSuffix(value: string, pattern: string, greedy: boolean): string {
  return reverseString(trimPrefix(reverseString(value), reversePattern(pattern), greedy));
}

/** `${VAR/p/r}` (first match, replacement taken literally) and `${VAR//p/r}` (every match). */
export function replacePattern(value: string, pattern: string, replacement: string, all: boolean): string {
  if (!all) {
    const match = shellPatternToRegExp(pattern, true, false).exec(value);
    if (!match) return value;
    return value.slice(0, match.index) + replacement + value.slice(match.index + match[0].length);
  }
  return replaceAllLikeGo(value, shellPatternToRegExp(pattern, true, false, 'gu'), replacement);
}

// Go's Regexp.ReplaceAllString: the same scan as JS's replace, except that an empty match
// directly after another match is not replaced, and the replacement is a Go template.
function replaceAllLikeGo(value: string, re: RegExp, template: string): string {
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= value.length) {
    re.lastIndex = searchPos;
    const match = re.exec(value);
    if (!match) break;
    const start = match.index;
    const end = start + match[0].length;
    out += value.slice(lastMatchEnd, start);
    if (end > lastMatchEnd || start === 0) out += expandGoTemplate(template, match[0]);
    lastMatchEnd = end;
    const cp = value.codePointAt(searchPos);
    const width = cp === undefined ? 0 : cp > 0xffff ? 2 : 1;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + value.slice(lastMatchEnd);
}

const NAME_CHAR = /^[\p{L}\p{Nd}_]$/u;

/**
 * Go's Regexp.Expand for a pattern without groups: `$$` is `$`, `$0`/`${0}` the match, any
 * other well-formed `$name`/`${name}` is empty, and a malformed `$` stays literal.
 */
function expandGoTemplate(template: string, match: string): string {
  let out = '';
  let rest = template;
  for (let dollar = rest.indexOf('$'); dollar >= 0; dollar = rest.indexOf('$')) {
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = parseTemplateRef(rest);
    if (!ref) {
      out += '$';
      continue;
    }
    rest = rest.slice(ref.length);
    if (ref.name === '0') out += match;
  }
  return out + rest;
}

function parseTemplateRef(s: string): { name: string; length: number } | undefined {
  const brace = s.startsWith('{');
  let i = brace ? 1 : 0;
  let name = '';
  for (const ch of s.slice(i)) {
    if (!NAME_CHAR.test(ch)) break;
    name += ch;
  }
  if (name === '') return undefined;
  i += name.length;
  if (brace) {
    if (s[i] !== '}') return undefined;
    i++;
  }
  return { name, length: i };
}
