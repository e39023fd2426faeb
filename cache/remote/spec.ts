import { CacheTransferError } from './errors.js';

/** `--cache-to`, as `docker buildx build --cache-to` takes it. */
export type CacheExportSpec =
  | { type: 'registry'; ref: string; mode: 'min' | 'max'; mounts: boolean; ignoreError: boolean }
  | { type: 'local'; dest: string; tag: string; mode: 'min' | 'max'; mounts: boolean; ignoreError: boolean }
  | { type: 'inline' };

/** `--cache-from`: a registry ref (a kiln cache manifest or an image with inline cache) or an OCI layout dir. */
export type CacheImportSpec = { type: 'registry'; ref: string } | { type: 'local'; src: string; tag: string };

// Options buildx accepts that change only how BuildKit lays its own cache out; kiln's format has
// one layout (a plain OCI manifest), so they are accepted and have no effect.
const LAYOUT_ONLY = ['oci-mediatypes', 'image-manifest', 'compression', 'compression-level', 'force-compression'];
const UNSUPPORTED = new Set(['gha', 's3', 'azblob']);

const specError = (flag: string, spec: string, why: string, hint?: string) =>
  new CacheTransferError('E_CACHE_SPEC', `${flag} "${spec}": ${why}`, { hint: hint ?? 'e.g. type=registry,ref=HOST/NAME:TAG[,mode=max] or type=local,dest=DIR' });

function fields(flag: string, spec: string, allowed: Record<string, readonly string[]>): { type: string; get: (k: string) => string | undefined } {
  const map = new Map<string, string>();
  for (const part of spec.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw specError(flag, spec, `"${part}" is not KEY=VALUE`);
    map.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
  }
  const type = map.get('type');
  if (type === undefined) throw specError(flag, spec, 'type= is required');
  if (UNSUPPORTED.has(type)) throw specError(flag, spec, `cache type "${type}" is not supported by kiln`, 'use type=registry, type=local or type=inline');
  const keys = allowed[type];
  if (!keys) throw specError(flag, spec, `unknown cache type "${type}"`, `use ${Object.keys(allowed).join(', ')}`);
  for (const k of map.keys()) {
    if (k !== 'type' && !keys.includes(k) && !LAYOUT_ONLY.includes(k)) throw specError(flag, spec, `unknown option "${k}" for type=${type}`);
  }
  return { type, get: (k) => map.get(k) };
}

function bool(flag: string, spec: string, key: string, v: string | undefined): boolean {
  if (v === undefined || v === 'false') return false;
  if (v === 'true' || v === '') return true;
  throw specError(flag, spec, `${key}=${v} is not true or false`);
}

function required(flag: string, spec: string, key: string, v: string | undefined): string {
  if (!v) throw specError(flag, spec, `${key}= is required`);
  return v;
}

/** Parses one `--cache-to` value. A bare `REF` means type=registry,ref=REF, as in buildx. */
export function parseCacheTo(spec: string): CacheExportSpec {
  const flag = '--cache-to';
  if (!spec.includes('=')) return { type: 'registry', ref: spec, mode: 'min', mounts: false, ignoreError: false };
  const common = ['mode', 'mounts', 'ignore-error'];
  const f = fields(flag, spec, { registry: ['ref', ...common], local: ['dest', 'tag', ...common], inline: [] });
  if (f.type === 'inline') return { type: 'inline' };
  const mode = f.get('mode') ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw specError(flag, spec, `mode=${mode} is not min or max`);
  const shared = { mode: mode as 'min' | 'max', mounts: bool(flag, spec, 'mounts', f.get('mounts')), ignoreError: bool(flag, spec, 'ignore-error', f.get('ignore-error')) };
  if (f.type === 'registry') return { type: 'registry', ref: required(flag, spec, 'ref', f.get('ref')), ...shared };
  return { type: 'local', dest: required(flag, spec, 'dest', f.get('dest')), tag: f.get('tag') || 'latest', ...shared };
}

/** Parses one `--cache-from` value. A bare `REF` means type=registry,ref=REF, as in buildx. */
export function parseCacheFrom(spec: string): CacheImportSpec {
  const flag = '--cache-from';
  if (!spec.includes('=')) return { type: 'registry', ref: spec };
  const f = fields(flag, spec, { registry: ['ref'], local: ['src', 'tag'] });
  if (f.type === 'registry') return { type: 'registry', ref: required(flag, spec, 'ref', f.get('ref')) };
  return { type: 'local', src: required(flag, spec, 'src', f.get('src')), tag: f.get('tag') || 'latest' };
}
