import type { CheckDirective, Directives } from './ast.js';
import { goQuote, trimLeftSpace, trimSpace } from './go-text.js';

/**
 * BuildKit's DirectiveParser.ParseLine: cut the `#`, trim Go (Unicode) white space, then this
 * regexp. Go RE2's `\s` is ASCII-only and has no \v.
 */
const reDirective = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/s;
const validDirectives = new Set(['syntax', 'escape', 'check']);

export interface FoundDirective {
  name: string;
  value: string;
  /** 1-based line. */
  line: number;
}

export type DirectiveProblem = { message: string; line: number };

export interface DirectiveScan {
  directives: Directives;
  escapeToken: '\\' | '`';
  found: FoundDirective[];
  problem?: DirectiveProblem;
  /** A `# check` value BuildKit's linter rejects: an error for a build, not for the raw parse. */
  checkProblem?: DirectiveProblem;
}

/** A line in BuildKit's directive form (`# name = value`) whose name is a known directive. */
export function matchDirective(rawLine: string): { name: string; value: string } | undefined {
  const line = trimLeftSpace(rawLine.replace(/[\r\n]+$/, ''));
  if (line.charCodeAt(0) !== 0x23) return undefined;
  const m = reDirective.exec(trimLeftSpace(line.slice(1)));
  if (!m) return undefined;
  const name = m[1]!.toLowerCase();
  return validDirectives.has(name) ? { name, value: m[2]! } : undefined;
}

/**
 * Parser directives: only the leading lines that are directives count; the first other line
 * (instruction, plain comment, even a blank line) ends them. Each may appear once.
 */
export function scanDirectives(text: string): DirectiveScan {
  const directives: Directives = {};
  const found: FoundDirective[] = [];
  let escapeToken: '\\' | '`' = '\\';
  let checkProblem: DirectiveProblem | undefined;
  let start = 0;
  for (let line = 1; start <= text.length; line++) {
    const nl = text.indexOf('\n', start);
    const raw = text.slice(start, nl < 0 ? text.length : nl);
    const d = matchDirective(raw);
    if (!d) break;
    if (found.some((f) => f.name === d.name)) {
      return { directives, escapeToken, found, problem: { message: `only one ${d.name} parser directive can be used`, line } };
    }
    found.push({ ...d, line });
    if (d.name === 'escape') {
      if (d.value !== '\\' && d.value !== '`') {
        return { directives, escapeToken, found, problem: { message: `invalid escape token '${d.value}' does not match \` or \\`, line } };
      }
      escapeToken = d.value;
      directives.escape = d.value;
    } else if (d.name === 'syntax') {
      directives.syntax = d.value;
    } else {
      // BuildKit's parser.Parse only records the directive; its value is read (and rejected)
      // later by dockerfile2llb's linter.ParseLintOptions, so a bad value fails a build but not the parse.
      const check = parseCheck(d.value);
      if (typeof check === 'string') checkProblem = { message: check, line };
      else directives.check = check;
    }
    if (nl < 0) break;
    start = nl + 1;
  }
  return checkProblem ? { directives, escapeToken, found, checkProblem } : { directives, escapeToken, found };
}

const GO_BOOLS: Record<string, boolean> = {
  1: true, t: true, T: true, TRUE: true, true: true, True: true,
  0: false, f: false, F: false, FALSE: false, false: false, False: false,
};

/**
 * `# check=skip=Rule1,Rule2;error=true`, read as BuildKit's linter.ParseLintOptions: at most three
 * `;`-separated parts (strings.SplitN), keys case-sensitive, `skip=all` exact, error a Go
 * strconv.ParseBool value, `experimental=` accepted. Returns an error message if bad.
 */
export function parseCheck(raw: string): CheckDirective | string {
  const check: CheckDirective = { skip: [], error: false, raw };
  const text = trimSpace(raw);
  if (text === '') return check;
  const parts = text.split(';');
  if (parts.length > 3) parts.splice(2, parts.length, parts.slice(2).join(';'));
  let skipAll = false;
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq < 0) return `invalid check option ${goQuote(p)}`;
    const key = trimSpace(p.slice(0, eq));
    const value = p.slice(eq + 1);
    if (key === 'skip') {
      const v = trimSpace(value);
      if (v === 'all') skipAll = true;
      else check.skip = v.split(',').map(trimSpace);
    } else if (key === 'experimental') {
      // Experimental rules: kiln has none, so there is nothing to turn on.
    } else if (key === 'error') {
      const v = trimSpace(value);
      const b = Object.hasOwn(GO_BOOLS, v) ? GO_BOOLS[v] : undefined;
      if (b === undefined) return `failed to parse check option ${goQuote(p)}: strconv.ParseBool: parsing ${goQuote(v)}: invalid syntax`;
      check.error = b;
    } else {
      return `invalid check option ${goQuote(key)}`;
    }
  }
  if (skipAll) check.skip = 'all';
  return check;
}
