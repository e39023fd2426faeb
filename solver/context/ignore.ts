import dockerignore, { type Ignore } from '@balena/dockerignore';
import { readFile } from 'node:fs/promises';
import { KilnError } from '../../common/errors.js';
import { basename, dirname, join, resolve } from 'node:path';

/** Matches context-relative paths (`a/b.txt`, no leading slash) against dockerignore-style patterns. */
export interface PathMatcher {
  matches(rel: string): boolean;
  /**
   * Whether an excluded directory must still be walked: as docker does, only when an exception
   * pattern lies literally inside it.
   */
  mayReincludeUnder(dirRel: string): boolean;
}

export function compileMatcher(patterns: string[]): PathMatcher {
  const cleaned = patterns.map((p) => p.trim()).filter((p) => p !== '' && !p.startsWith('#'));
  const ig: Ignore = dockerignore.default().add(cleaned);
  const exceptions = cleaned.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/^\/+/, ''));
  return {
    matches: (rel) => rel !== '' && ig.ignores(rel),
    mayReincludeUnder: (dirRel) => exceptions.some((p) => `${p}/`.startsWith(`${dirRel}/`)),
  };
}

/** Parses a .dockerignore file's text into patterns (comments and blank lines dropped). */
export function parseIgnoreFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
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
