import type { CheckDirective, Directives } from './ast.js';
import { trimLeftSpace } from './go-text.js';

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
      const check = parseCheck(d.value);
      if (typeof check === 'string') return { directives, escapeToken, found, problem: { message: check, line } };
      directives.check = check;
    }
    if (nl < 0) break;
    start = nl + 1;
  }
  return { directives, escapeToken, found };
}

/** `# check=skip=Rule1,Rule2;error=true` (BuildKit's lint options). Returns an error message if bad. */
function parseCheck(raw: string): CheckDirective | string {
  const check: CheckDirective = { skip: [], error: false, raw };
  for (const part of raw.split(';')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq < 0) return `invalid check directive "${raw}": "${p}" must be key=value`;
    const key = p.slice(0, eq).trim().toLowerCase();
    const value = p.slice(eq + 1).trim();
    if (key === 'skip') {
      const rules = value.split(',').map((r) => r.trim()).filter((r) => r !== '');
      check.skip = rules.some((r) => r.toLowerCase() === 'all') ? 'all' : rules;
    } else if (key === 'error') {
      const v = value.toLowerCase();
      if (v !== 'true' && v !== 'false') return `invalid check directive "${raw}": error must be true or false, not "${value}"`;
      check.error = v === 'true';
    } else {
      return `invalid check directive "${raw}": unknown key "${key}"`;
    }
  }
  return check;
}
