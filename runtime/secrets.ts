import { readFile } from 'node:fs/promises';
import { KilnError } from '../common/errors.js';
import { systemReason } from '../common/file-errors.js';
import type { SecretSource } from './types.js';

/**
 * Parses a `--secret` flag as buildx does: `id=ID,src=FILE` (or `source=`), `id=ID,env=VAR`,
 * or just `id=ID`, which reads the environment variable named ID.
 */
export function parseSecretFlag(flag: string): SecretSource {
  const fields = new Map<string, string>();
  for (const part of flag.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new KilnError('E_RUNTIME_SECRET_FLAG', `invalid --secret "${flag}": expected key=value pairs`, { hint: 'use --secret id=ID,src=FILE or --secret id=ID,env=VAR' });
    fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1));
  }
  const id = fields.get('id');
  if (!id) throw new KilnError('E_RUNTIME_SECRET_FLAG', `invalid --secret "${flag}": missing id`, { hint: 'use --secret id=ID,src=FILE or --secret id=ID,env=VAR' });
  const file = fields.get('src') ?? fields.get('source');
  const env = fields.get('env');
  if (file !== undefined) return { id, file };
  return { id, env: env ?? id };
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
