import { KilnError } from '../common/errors.js';

/**
 * The part of Go's text/template that `--format` strings use with docker (`{{.Repository}}:{{.Tag}}`,
 * `{{json .Config.Env}}`, `{{index .Config.Labels "k"}}`, `{{join .RepoTags ","}}`), with docker's
 * `\t` and `\n` escapes. Fields are read as the JSON that `kiln inspect` prints names them.
 */
export function renderTemplate(format: string, data: unknown): string {
  const text = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  let out = '';
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      out += text.slice(i);
      break;
    }
    let literal = text.slice(i, open);
    let start = open + 2;
    if (text[start] === '-') {
      literal = literal.trimEnd();
      start++;
    }
    out += literal;
    const close = text.indexOf('}}', start);
    if (close < 0) throw formatError(format, 'unclosed action');
    let action = text.slice(start, close);
    i = close + 2;
    if (action.endsWith('-')) {
      action = action.slice(0, -1);
      while (i < text.length && /\s/.test(text[i]!)) i++;
    }
    out += show(evaluate(words(action.trim(), format), data, format));
  }
  return out;
}

function formatError(format: string, why: string): KilnError {
  return new KilnError('E_FORMAT', `invalid --format "${format}": ${why}`, { hint: 'e.g. --format "{{.Repository}}:{{.Tag}}" or "{{json .Config}}"' });
}

function words(action: string, format: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m; (m = re.exec(action)) !== null; ) out.push(m[1] !== undefined ? JSON.stringify(JSON.parse(`"${m[1]}"`)) : m[2]!);
  if (out.length === 0) throw formatError(format, 'empty action');
  return out;
}

function evaluate(w: string[], data: unknown, format: string): unknown {
  const [head, ...args] = w;
  const arg = (s: string) => (s.startsWith('"') ? (JSON.parse(s) as string) : /^-?\d+$/.test(s) ? Number(s) : field(s, data, format));
  switch (head) {
    case 'json':
      return JSON.stringify(arg(args[0] ?? '.'));
    case 'index': {
      let v = arg(args[0] ?? '.');
      for (const k of args.slice(1).map(arg)) v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[String(k)];
      return v;
    }
    case 'join': {
      const v = arg(args[0] ?? '.');
      return Array.isArray(v) ? v.join(String(arg(args[1] ?? '""'))) : v;
    }
    case 'upper':
    case 'lower': {
      const v = String(arg(args[0] ?? '.'));
      return head === 'upper' ? v.toUpperCase() : v.toLowerCase();
    }
    default:
      if (args.length > 0 || !head!.startsWith('.')) throw formatError(format, `function "${head}" not defined`);
      return field(head!, data, format);
  }
}

function field(path: string, data: unknown, format: string): unknown {
  if (!path.startsWith('.')) throw formatError(format, `cannot read "${path}"`);
  let v = data;
  for (const name of path.split('.').slice(1).filter(Boolean)) {
    if (v === null || typeof v !== 'object' || !(name in v)) throw formatError(format, `can't evaluate field ${name}`);
    v = (v as Record<string, unknown>)[name];
  }
  return v;
}

/** How Go prints a value in a template: maps and slices the way fmt's %v does. */
function show(v: unknown): string {
  if (v === null || v === undefined) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${k}:${show(x)}`).join(' ')}]`;
  return String(v);
}
