import { readFile } from 'node:fs/promises';
import { KilnError } from '../common/errors.js';
import { systemReason } from '../common/file-errors.js';
import type { SecretSource } from './types.js';

/**
 * Parses a `--secret` flag as buildx does (util/buildflags/secrets.go, then BuildKit's
 * secretsprovider.NewStore): `id=ID,src=FILE` (or `source=`), `id=ID,env=VAR`, `type=env` with
 * `src=VAR`, `type=file`; keys are case-insensitive and any other key is an error. Just `id=ID`
 * reads the environment variable ID when it is set, else the file ID.
 */
export function parseSecretFlag(flag: string, env: NodeJS.ProcessEnv = process.env): SecretSource {
  const fields = new Map<string, string>();
  const bad = (why: string) => new KilnError('E_RUNTIME_SECRET_FLAG', `invalid --secret "${flag}": ${why}`, { hint: 'use --secret id=ID,src=FILE or --secret id=ID,env=VAR' });
  for (const part of flag.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad('expected key=value pairs');
    const key = part.slice(0, eq).trim().toLowerCase();
    if (!['type', 'id', 'src', 'source', 'env'].includes(key)) throw bad(`unexpected key "${key}"`);
    fields.set(key === 'source' ? 'src' : key, part.slice(eq + 1));
  }
  const type = fields.get('type');
  if (type !== undefined && type !== 'file' && type !== 'env') throw bad(`unsupported secret type "${type}"`);
  const id = fields.get('id');
  if (!id) throw bad('missing id');
  let file = fields.get('src') || undefined;
  let envName = fields.get('env') || undefined;
  if (type === 'env' && envName === undefined) [envName, file] = [file, undefined];
  if (envName !== undefined) return { id, env: envName };
  if (file !== undefined) return { id, file };
  return env[id] !== undefined ? { id, env: id } : { id, file: id };
}

/** Reads a secret's value; only ever held in memory and in the per-execution bundle. */
export async function readSecret(source: SecretSource, env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  if (source.value !== undefined) return source.value;
  if (source.file !== undefined) {
    try {
      return await readFile(source.file);
    } catch (cause) {
      throw new KilnError('E_RUNTIME_SECRET', `cannot read secret "${source.id}" from ${source.file}: ${systemReason(cause)}`, { cause, hint: 'check the src= path given to --secret' });
    }
  }
  const value = source.env === undefined ? undefined : env[source.env];
  if (value === undefined) {
    throw new KilnError('E_RUNTIME_SECRET', `secret "${source.id}": environment variable ${source.env} is not set`, { hint: `export ${source.env} or use --secret id=${source.id},src=FILE` });
  }
  return Buffer.from(value);
}
