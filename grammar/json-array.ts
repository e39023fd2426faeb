/**
 * JSON-form arguments the way BuildKit reads them (parser/line_parsers.go parseJSON): Go's
 * json.Unmarshal of the whole argument text, so `["a"] trailing` is not JSON at all (shell form),
 * as BuildKit does since moby/buildkit#5107 replaced json.Decoder (which stopped after the first
 * value) with json.Unmarshal.
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

/** `rest` must already have its leading whitespace removed. */
export function parseJsonArray(rest: string): JsonArrayResult {
  if (rest.charCodeAt(0) !== 0x5b) return NOT_JSON;
  let parsed: unknown;
  let overflow = false;
  try {
    // JSON.parse, like Unmarshal, rejects anything but white space after the value.
    parsed = JSON.parse(rest, (_key, value: unknown) => {
      if (typeof value === 'number' && !Number.isFinite(value)) overflow = true;
      return value;
    });
  } catch {
    return NOT_JSON;
  }
  // A number out of float64 range (1e999) is an Unmarshal error in Go, so not JSON either.
  if (overflow) return NOT_JSON;
  if (!Array.isArray(parsed)) return NOT_JSON;
  const values: string[] = [];
  for (const v of parsed) {
    if (typeof v !== 'string') return { ok: false, notStringArray: true };
    values.push(surrogate.test(v) ? v.replace(loneSurrogate, '\ufffd') : v);
  }
  return { ok: true, values };
}
