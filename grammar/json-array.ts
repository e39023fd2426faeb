/**
 * JSON-form arguments the way BuildKit reads them: Go's json.Decoder decodes the FIRST JSON
 * value and ignores whatever follows it, so `["a"] trailing` is the exec form ["a"].
 */

export type JsonArrayResult =
  | { ok: true; values: string[] }
  /** Not JSON (or not an array): the caller falls back to shell form / word list. */
  | { ok: false; notStringArray: false }
  /** A valid JSON array with a non-string element: BuildKit makes this an error. */
  | { ok: false; notStringArray: true };

const NOT_JSON: JsonArrayResult = { ok: false, notStringArray: false };
const surrogate = /[\ud800-\udfff]/;
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** End index (exclusive) of the JSON value starting at `start` (a `[`), or -1 if it never closes. */
function endOfFirstValue(s: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** `rest` must already have its leading whitespace removed. */
export function parseJsonArray(rest: string): JsonArrayResult {
  if (rest.charCodeAt(0) !== 0x5b) return NOT_JSON;
  const end = endOfFirstValue(rest, 0);
  if (end < 0) return NOT_JSON;
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest.slice(0, end));
  } catch {
    return NOT_JSON;
  }
  if (!Array.isArray(parsed)) return NOT_JSON;
  const values: string[] = [];
  for (const v of parsed) {
    if (typeof v !== 'string') return { ok: false, notStringArray: true };
    values.push(surrogate.test(v) ? v.replace(loneSurrogate, '\ufffd') : v);
  }
  return { ok: true, values };
}
