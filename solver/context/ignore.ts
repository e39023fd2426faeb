import { readFile } from 'node:fs/promises';
import { KilnError } from '../../common/errors.js';
import { basename, dirname, join, posix, resolve } from 'node:path';

/** Matches context-relative paths (`a/b.txt`, no leading slash) against dockerignore-style patterns. */
export interface PathMatcher {
  matches(rel: string): boolean;
  /**
   * Whether an excluded directory must still be walked, as fsutil's filter decides: always when an
   * exception pattern has wildcards (past a trailing `/*` or `/**`), else only when one lies
   * literally inside it.
   */
  mayReincludeUnder(dirRel: string): boolean;
}

/** One compiled pattern of moby/patternmatcher. */
interface Pattern {
  exclusion: boolean;
  cleaned: string;
  test: (path: string) => boolean;
}

/** Go's filepath.Clean for a slash-separated path (`a//b/../c/` -> `a/c`, `` -> `.`). */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (seg === '..' && abs) continue;
    else out.push(seg);
  }
  const joined = out.join('/');
  return abs ? `/${joined}` : joined === '' ? '.' : joined;
}

/** Go's filepath.Match syntax check (ErrBadPattern): a class unterminated, empty or with a bad range, a trailing backslash. */
function checkSyntax(p: string): void {
  const bad = () => new SyntaxError(`bad pattern ${p}`);
  // Go's getEsc: one class character, `\\` escaping; `-` or `]` unescaped, or the end, is an error.
  const esc = (i: number): number => {
    if (i >= p.length || p[i] === '-' || p[i] === ']') throw bad();
    if (p[i] === '\\' && ++i >= p.length) throw bad();
    if (i + 1 >= p.length) throw bad();
    return i + 1;
  };
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\') {
      if (++i >= p.length) throw bad();
    } else if (p[i] === '[') {
      i++;
      if (p[i] === '^') i++;
      for (let n = 0; ; n++) {
        if (p[i] === ']' && n > 0) break;
        i = esc(i);
        if (p[i] === '-') i = esc(i + 1);
      }
    }
  }
}

/** Characters that are regexp syntax but plain in a filepath.Match pattern (patternmatcher's shouldEscape). */
const ESCAPED = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/** moby/patternmatcher's Pattern.compile: a cleaned pattern to a test of a slash-separated path. */
function compilePattern(pattern: string): (path: string) => boolean {
  let re = '^';
  let type: 'exact' | 'prefix' | 'suffix' | 'regexp' = 'exact';
  for (let i = 0, k = 0; k < pattern.length; i++) {
    const ch = pattern[k++]!;
    if (ch === '*') {
      if (pattern[k] === '*') {
        k++;
        if (pattern[k] === '/') k++;
        if (k >= pattern.length) {
          if (type === 'exact') type = 'prefix';
          else {
            re += '.*';
            type = 'regexp';
          }
        } else {
          re += '(.*/)?';
          type = 'regexp';
        }
        if (i === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (ESCAPED.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === '\\') {
      if (k < pattern.length) {
        re += `\\${pattern[k++]!}`;
        type = 'regexp';
      } else re += '\\\\';
    } else if (ch === '[' || ch === ']') {
      re += ch;
      type = 'regexp';
    } else {
      re += ch;
    }
  }
  switch (type) {
    case 'exact':
      return (path) => path === pattern;
    case 'prefix': {
      const prefix = pattern.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case 'suffix': {
      const suffix = pattern.slice(2);
      return (path) => path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
    }
    default: {
      let rx: RegExp;
      try {
        rx = new RegExp(`${re}$`);
      } catch {
        return () => false;
      }
      return (path) => rx.test(path);
    }
  }
}

/**
 * moby/patternmatcher as BuildKit uses it for .dockerignore and --exclude: patterns are trimmed
 * and cleaned, `!` makes an exception, the last pattern that matches a path (or one of its parent
 * directories) decides, matching is case-sensitive and only `*`, `?`, `[...]`, `\\` and `**` are
 * special (no other regexp syntax).
 */
export function compileMatcher(patterns: string[]): PathMatcher {
  const compiled: Pattern[] = [];
  for (const raw of patterns) {
    let p = raw.trim();
    if (p === '') continue;
    p = cleanPath(p);
    let exclusion = false;
    if (p.startsWith('!')) {
      if (p.length === 1) throw new KilnError('E_CONTEXT_IGNORE', 'illegal exclusion pattern: "!"', { hint: 'give the path to keep after the !, e.g. !keep.txt' });
      exclusion = true;
      p = p.slice(1);
    }
    try {
      checkSyntax(p);
    } catch {
      throw new KilnError('E_CONTEXT_IGNORE', `syntax error in pattern: ${JSON.stringify(raw)}`, { hint: 'close every [ ... ] character class, and escape a literal [ or \\ with a backslash' });
    }
    compiled.push({ exclusion, cleaned: p, test: compilePattern(p) });
  }
  const exceptions = compiled.filter((p) => p.exclusion);
  // fsutil's filter: with an exception that has wildcards, excluded directories are walked whole.
  const withoutTrailingGlob = (p: string) => p.replace(/\/\*\*$/, '').replace(/\/\*$/, '');
  const walkAll = exceptions.some((p) => /[*?[\\]/.test(withoutTrailingGlob(p.cleaned)));
  const prefixes = exceptions.map((p) => `${withoutTrailingGlob(p.cleaned)}/`);
  return {
    matches: (rel) => {
      if (rel === '') return false;
      const parents = posix.dirname(rel) === '.' ? [] : posix.dirname(rel).split('/');
      let matched = false;
      for (const p of compiled) {
        // An inclusion once matched, or an exception before anything matched, cannot change the result.
        if (p.exclusion !== matched) continue;
        let m = p.test(rel);
        for (let i = 0; !m && i < parents.length; i++) m = p.test(parents.slice(0, i + 1).join('/'));
        if (m) matched = !p.exclusion;
      }
      return matched;
    },
    mayReincludeUnder: (dirRel) => exceptions.length > 0 && (walkAll || prefixes.some((p) => p.startsWith(`${dirRel}/`))),
  };
}

/** Parses a .dockerignore file's text into patterns (comments and blank lines dropped). */
export function parseIgnoreFile(text: string): string[] {
  // moby/patternmatcher/ignorefile.ReadAll: a UTF-8 BOM dropped, `#` comments only in column 1,
  // then trimmed; `!` and the pattern after it trimmed apart; cleaned, a leading `/` dropped.
  const out: string[] = [];
  for (const [i, line] of text.replace(/\r?\n$/, '').split(/\r?\n/).entries()) {
    let p = i === 0 ? line.replace(/^\uFEFF/, '') : line;
    if (p.startsWith('#')) continue;
    p = p.trim();
    if (p === '') continue;
    const invert = p.startsWith('!');
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = cleanPath(p);
      if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    }
    out.push(invert ? `!${p}` : p);
  }
  return out;
}

/**
 * The ignore patterns for a build: `<Dockerfile>.dockerignore` beside the Dockerfile when it
 * exists (it replaces the context's file, as in BuildKit), else `.dockerignore` at the context root.
 */
export async function loadIgnorePatterns(contextDir: string, dockerfilePath?: string): Promise<{ patterns: string[]; file?: string }> {
  const candidates: string[] = [];
  if (dockerfilePath) {
    const df = resolve(contextDir, dockerfilePath);
    candidates.push(join(dirname(df), `${basename(df)}.dockerignore`));
  }
  candidates.push(join(contextDir, '.dockerignore'));
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      continue;
    }
    const patterns = parseIgnoreFile(text);
    // A lone `!` excepts nothing: moby's pattern matcher refuses it, and so the build.
    if (patterns.some((p) => p.slice(1).trim() === '' && p.startsWith('!'))) {
      throw new KilnError('E_CONTEXT_IGNORE', `${basename(file)}: illegal exclusion pattern: "!"`, { hint: 'give the path to keep after the !, e.g. !keep.txt' });
    }
    return { patterns, file };
  }
  return { patterns: [] };
}
