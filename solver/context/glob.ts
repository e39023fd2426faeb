/**
 * Go's `filepath.Match` for one path segment, which is what BuildKit uses to expand COPY/ADD
 * source wildcards segment by segment: `*` (any run of characters), `?` (one character),
 * `[...]` / `[^...]` classes with ranges, and `\` escapes. `**` has no special meaning there.
 */
export function hasGlobMeta(path: string): boolean {
  return /[*?[\\]/.test(path);
}

const cache = new Map<string, RegExp>();

export function matchSegment(pattern: string, name: string): boolean {
  let re = cache.get(pattern);
  if (!re) {
    re = compileSegment(pattern);
    cache.set(pattern, re);
  }
  return re.test(name);
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

function compileSegment(pattern: string): RegExp {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '\\') {
      i++;
      if (i >= pattern.length) throw new SyntaxError(`bad pattern ${pattern}: trailing backslash`);
      out += escapeRe(pattern[i]!);
    } else if (c === '[') {
      let j = i + 1;
      let cls = '';
      if (pattern[j] === '^') {
        cls += '^';
        j++;
      }
      let first = true;
      while (j < pattern.length && (pattern[j] !== ']' || first)) {
        first = false;
        let ch = pattern[j]!;
        if (ch === '\\') {
          j++;
          ch = pattern[j] ?? '';
        }
        cls += ch === '-' && pattern[j - 1] !== '\\' ? '-' : escapeRe(ch);
        j++;
      }
      if (j >= pattern.length) throw new SyntaxError(`bad pattern ${pattern}: unterminated character class`);
      out += `[${cls}]`;
      i = j;
    } else {
      out += escapeRe(c);
    }
  }
  return new RegExp(`${out}$`, 's');
}
