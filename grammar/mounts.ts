import type { MountSharing, MountSpec } from './ast.js';
import { parseRamBytes } from './units.js';

/** Thrown for an invalid `--mount` value; the caller adds the position. */
export class MountProblem extends Error {}

const mountTypes = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
type MountType = (typeof mountTypes)[number];
const sharingModes = ['shared', 'private', 'locked'];
const allKeys = ['type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'mode', 'uid', 'gid', 'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'size', 'env'];

/** One CSV record as Go's encoding/csv reads it (quoted fields, `""` inside quotes). */
function csvFields(value: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= value.length) throw new MountProblem(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += value[i++];
      }
      if (i < value.length && value[i] !== ',') throw new MountProblem(`failed to parse csv mounts: extraneous or missing " in quoted-field`);
    } else {
      const end = value.indexOf(',', i);
      field = value.slice(i, end < 0 ? value.length : end);
      if (field.includes('"')) throw new MountProblem(`failed to parse csv mounts: bare " in non-quoted-field`);
      i += field.length;
    }
    fields.push(field);
    if (i >= value.length) return fields;
    i++;
  }
}

const goBool: Record<string, boolean> = { 1: true, t: true, T: true, TRUE: true, true: true, True: true, 0: false, f: false, F: false, FALSE: false, false: false, False: false };

function parseBool(key: string, value: string): boolean {
  const b = goBool[value];
  if (b === undefined) throw new MountProblem(`invalid value for ${key}: ${value}`);
  return b;
}

function parseUint32(key: string, value: string, radix: 8 | 10): number {
  const ok = radix === 8 ? /^[0-7]+$/.test(value) : /^\d+$/.test(value);
  const n = ok ? Number.parseInt(value, radix) : NaN;
  if (!(n <= 0xffffffff)) throw new MountProblem(`invalid value ${value} for ${key}`);
  return n;
}

/** A value still holding `$VAR` is checked once the solver has expanded it. */
const deferred = (value: string) => value.includes('$');

/**
 * Parses one `RUN --mount=` value into a typed spec, with BuildKit's validation. Fields whose
 * values hold variables are kept raw and not validated (a variable type, nothing is); the solver
 * gets the final spec from `raw` with expandMount.
 */
export function parseMount(raw: string): MountSpec {
  return parseFields(csvFields(raw), raw);
}

/**
 * The final spec of a `--mount` value whose fields hold variables: each field's value expanded
 * (as BuildKit's ParseMount does with its expander; `from` never is), then parsed and validated.
 */
export function expandMount(raw: string, expand: (value: string) => string): MountSpec {
  const fields = csvFields(raw).map((field) => {
    const eq = field.indexOf('=');
    if (eq < 0 || field.slice(0, eq).toLowerCase() === 'from') return field;
    return `${field.slice(0, eq + 1)}${expand(field.slice(eq + 1))}`;
  });
  return parseFields(fields, raw);
}

function parseFields(fields: string[], raw: string): MountSpec {
  const valueOf = (key: string) => {
    const field = fields.find((f) => f.slice(0, f.indexOf('=')).toLowerCase() === key);
    return field === undefined ? undefined : field.slice(field.indexOf('=') + 1);
  };
  const typeValue = valueOf('type');
  if (typeValue !== undefined && deferred(typeValue)) {
    // Until expanded, only what the plan needs: the stage it may read from.
    const from = valueOf('from');
    if (from !== undefined && deferred(from)) throw new MountProblem(`'from' doesn't support variable expansion, define alias stage instead`);
    return { type: 'bind', target: valueOf('target') ?? '', readonly: true, ...(from === undefined ? {} : { from }), raw };
  }
  let type: MountType = 'bind';
  const f: Record<string, string> = {};
  let readonly: boolean | undefined;
  let required = false;
  let mode: number | undefined;
  let uid: number | undefined;
  let gid: number | undefined;
  let size: number | undefined;
  let sharing: MountSharing | undefined;
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') readonly = true;
      else if (key === 'readwrite' || key === 'rw') readonly = false;
      else if (key === 'required' && (type === 'secret' || type === 'ssh')) required = true;
      else if (key === 'required') throw new MountProblem(`unexpected key '${key}' for mount type '${type}'`);
      else throw new MountProblem(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const value = field.slice(eq + 1);
    if (key === 'from' && /\$./.test(value)) throw new MountProblem(`'${key}' doesn't support variable expansion, define alias stage instead`);
    switch (key) {
      case 'type': {
        const t = value.toLowerCase();
        if (!(mountTypes as readonly string[]).includes(t)) throw new MountProblem(`unsupported mount type "${value}"`);
        type = t as MountType;
        break;
      }
      case 'from':
      case 'id':
      case 'env':
        f[key] = value;
        break;
      case 'source':
      case 'src':
        f.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        f.target = value;
        break;
      case 'readonly':
      case 'ro':
        if (!deferred(value)) readonly = parseBool(key, value);
        break;
      case 'readwrite':
      case 'rw':
        if (!deferred(value)) readonly = !parseBool(key, value);
        break;
      case 'required':
        if (type !== 'secret' && type !== 'ssh') throw new MountProblem(`unexpected key '${key}' for mount type '${type}'`);
        if (!deferred(value)) required = parseBool(key, value);
        break;
      case 'sharing':
        if (deferred(value)) break;
        if (!sharingModes.includes(value.toLowerCase())) throw new MountProblem(`unsupported sharing value "${value}"`);
        sharing = value.toLowerCase() as MountSharing;
        break;
      case 'mode':
        if (!deferred(value)) mode = parseUint32(key, value, 8);
        break;
      case 'uid':
        if (!deferred(value)) uid = parseUint32(key, value, 10);
        break;
      case 'gid':
        if (!deferred(value)) gid = parseUint32(key, value, 10);
        break;
      case 'size':
        if (deferred(value)) break;
        size = parseRamBytes(value);
        if (size === undefined) throw new MountProblem(`invalid value ${value} for size`);
        break;
      default:
        throw new MountProblem(`unexpected key '${key}' in '${field}' (valid keys: ${allKeys.join(', ')})`);
    }
  }
  const fileInfoAllowed = type === 'secret' || type === 'ssh' || type === 'cache';
  for (const [name, v] of [['mode', mode], ['uid', uid], ['gid', gid]] as const) {
    if (v !== undefined && !fileInfoAllowed) throw new MountProblem(`${name} not allowed for "${type}" type mounts`);
  }
  if (sharing !== undefined && type !== 'cache') throw new MountProblem(`invalid cache sharing set for ${type} mount`);
  if (size !== undefined && type !== 'tmpfs') throw new MountProblem(`size not allowed for "${type}" type mounts`);
  if (f.env !== undefined && type !== 'secret') throw new MountProblem(`env not allowed for "${type}" type mounts`);
  const ro = readonly ?? !(type === 'cache' || type === 'tmpfs');
  const opt = <K extends string>(k: K) => (f[k] === undefined ? {} : ({ [k]: f[k] } as Record<K, string>));
  switch (type) {
    case 'bind':
      requireTarget(type, f.target);
      return { type, target: f.target, readonly: ro, ...opt('source'), ...opt('from'), raw };
    case 'cache':
      requireTarget(type, f.target);
      return { type, target: f.target, readonly: ro, sharing: sharing ?? 'shared', ...opt('id'), ...opt('source'), ...opt('from'), ...fileInfo(mode, uid, gid), raw };
    case 'tmpfs':
      requireTarget(type, f.target);
      return { type, target: f.target, readonly: ro, ...(size === undefined ? {} : { size }), raw };
    case 'secret':
      if (f.from !== undefined) throw new MountProblem('secret mount should not have a from');
      if (f.source === undefined && f.target === undefined && f.id === undefined && f.env === undefined) {
        throw new MountProblem('invalid secret mount. one of source, target, id or env required');
      }
      if (f.source !== undefined && f.id !== undefined) throw new MountProblem("both source and id can't be set");
      return { type, readonly: ro, required, ...opt('target'), ...opt('id'), ...opt('source'), ...opt('env'), ...fileInfo(mode, uid, gid), raw };
    case 'ssh':
      if (f.from !== undefined) throw new MountProblem('ssh mount should not have a from');
      return { type, readonly: ro, required, ...opt('target'), ...opt('id'), ...fileInfo(mode, uid, gid), raw };
  }
}

function requireTarget(type: string, target: string | undefined): asserts target is string {
  if (target === undefined || target === '') throw new MountProblem(`mount type "${type}" requires a target (target=/path)`);
}

function fileInfo(mode?: number, uid?: number, gid?: number) {
  return { ...(mode === undefined ? {} : { mode }), ...(uid === undefined ? {} : { uid }), ...(gid === undefined ? {} : { gid }) };
}
