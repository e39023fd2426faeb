import { DockerfileErrorCode } from './errors.js';
import { RE_WHITESPACE, goQuote, isGoSpace, trimLeftSpace } from './go-text.js';
import { parseJsonArray } from './json-array.js';
import { LineProblem } from './problem.js';
import type { Located } from './split-command.js';
import { parseWords } from './words.js';

/** What a line parser makes of an instruction's arguments (BuildKit's `Next` chain). */
export interface ParsedArgs {
  args: Located[];
  json: boolean;
  /** ONBUILD: the trigger's text and its offset; parsed as an instruction of its own. */
  subCommand?: Located;
}

type LineParser = (rest: string, offset: number, escape: string) => ParsedArgs;

const none: ParsedArgs = { args: [], json: false };

const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

function jsonOrUndefined(rest: string, offset: number): ParsedArgs | undefined {
  // parseJSON trims leading Go white space itself (HEALTHCHECK's command can start with some).
  const r = parseJsonArray(trimLeftSpace(rest));
  if (r.ok) return { args: r.values.map((value) => ({ value, offset })), json: true };
  if (r.notStringArray) throw new LineProblem(DockerfileErrorCode.Syntax, NOT_STRING_ARRAY, offset);
  return undefined;
}

/** Compiled once; `lastIndex` is reset on every use. */
const WHITESPACE_RUNS = new RegExp(RE_WHITESPACE.source, 'g');

function whitespaceDelimited(rest: string, offset: number): ParsedArgs {
  if (rest === '') return none;
  const args: Located[] = [];
  const re = WHITESPACE_RUNS;
  re.lastIndex = 0;
  let start = 0;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    args.push({ value: rest.slice(start, m.index), offset: offset + start });
    start = m.index + m[0].length;
  }
  args.push({ value: rest.slice(start), offset: offset + start });
  return { args, json: false };
}

const parseString: LineParser = (rest, offset) => (rest === '' ? none : { args: [{ value: rest, offset }], json: false });

const parseMaybeJson: LineParser = (rest, offset) => {
  if (rest === '') return none;
  return jsonOrUndefined(rest, offset) ?? { args: [{ value: rest, offset }], json: false };
};

const parseMaybeJsonToList: LineParser = (rest, offset) => jsonOrUndefined(rest, offset) ?? whitespaceDelimited(rest, offset);

/** ENV and LABEL: `k=v ...` or the legacy `k v` form; yields (key, value, separator) triples. */
function parseNameVal(instruction: string): LineParser {
  return (rest, offset, escape) => {
    const words = parseWords(rest, escape, offset);
    if (words.length === 0) return none;
    if (!words[0]!.value.includes('=')) {
      const ws = RE_WHITESPACE.exec(rest);
      if (!ws) throw new LineProblem(DockerfileErrorCode.Syntax, `${instruction} must have two arguments`, offset);
      const valueAt = ws.index + ws[0].length;
      return {
        args: [
          { value: rest.slice(0, ws.index), offset },
          { value: rest.slice(valueAt), offset: offset + valueAt },
          { value: '', offset: offset + valueAt },
        ],
        json: false,
      };
    }
    const args: Located[] = [];
    for (const w of words) {
      const eq = w.value.indexOf('=');
      if (eq < 0) {
        throw new LineProblem(
          DockerfileErrorCode.Syntax,
          `Syntax error - can't find = in ${goQuote(w.value)}. Must be of the form: name=value`,
          w.offset,
        );
      }
      args.push({ value: w.value.slice(0, eq), offset: w.offset });
      args.push({ value: w.value.slice(eq + 1), offset: w.offset + eq + 1 });
      args.push({ value: '=', offset: w.offset + eq });
    }
    return { args, json: false };
  };
}

const parseNameOrNameVal: LineParser = (rest, offset, escape) => ({ args: parseWords(rest, escape, offset), json: false });

const parseSubCommand: LineParser = (rest, offset) => (rest === '' ? none : { args: [], json: false, subCommand: { value: rest, offset } });

/**
 * HEALTHCHECK: a type word (CMD, NONE) then a command like CMD's. BuildKit finds the two with
 * `unicode.IsSpace(rune(rest[i]))`, byte by byte: with non-ASCII text the bytes 0x85 and 0xA0
 * (in NBSP, à, ...) separate, and a multi-byte space is not skipped as a whole.
 */
const parseHealthConfig: LineParser = (rest, offset, escape) => {
  if (/[^\x00-\x7f]/.test(rest)) return parseHealthConfigBytes(rest, offset, escape);
  let sep = 0;
  while (sep < rest.length && !isGoSpace(rest[sep]!)) sep++;
  if (sep === 0) return none;
  let next = sep;
  while (next < rest.length && isGoSpace(rest[next]!)) next++;
  const cmd = parseMaybeJson(rest.slice(next), offset + next, escape);
  return { args: [{ value: rest.slice(0, sep), offset }, ...cmd.args], json: cmd.json };
};

function isByteSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === 0x85 || b === 0xa0;
}

function parseHealthConfigBytes(rest: string, offset: number, escape: string): ParsedArgs {
  const bytes = Buffer.from(rest, 'utf8');
  let sep = 0;
  while (sep < bytes.length && !isByteSpace(bytes[sep]!)) sep++;
  if (sep === 0) return none;
  let next = sep;
  while (next < bytes.length && isByteSpace(bytes[next]!)) next++;
  // A cut inside a character leaves invalid UTF-8 in Go; here it decodes as U+FFFD.
  const type = bytes.subarray(0, sep).toString('utf8');
  const cmdText = bytes.subarray(next).toString('utf8');
  const cmdOffset = offset + rest.length - cmdText.length;
  const cmd = parseMaybeJson(cmdText, cmdOffset, escape);
  return { args: [{ value: type, offset }, ...cmd.args], json: cmd.json };
}

/** Instructions not in this table are kept with one empty argument, as BuildKit's parseIgnore does. */
const dispatch: Record<string, LineParser> = {
  add: parseMaybeJsonToList,
  arg: parseNameOrNameVal,
  cmd: parseMaybeJson,
  copy: parseMaybeJsonToList,
  entrypoint: parseMaybeJson,
  env: parseNameVal('ENV'),
  expose: whitespaceDelimited,
  from: whitespaceDelimited,
  healthcheck: parseHealthConfig,
  label: parseNameVal('LABEL'),
  maintainer: parseString,
  onbuild: parseSubCommand,
  run: parseMaybeJson,
  shell: parseMaybeJson,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJsonToList,
  workdir: parseString,
};

export function isKnownInstruction(keyword: string): boolean {
  return Object.hasOwn(dispatch, keyword);
}

export const instructionNames: readonly string[] = Object.keys(dispatch);

export function parseArguments(keyword: string, rest: string, offset: number, escape: string): ParsedArgs {
  const parser = Object.hasOwn(dispatch, keyword) ? dispatch[keyword]! : undefined;
  if (!parser) return { args: [{ value: '', offset }], json: false };
  return parser(rest, offset, escape);
}
