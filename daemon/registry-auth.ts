/**
 * Credentials the docker CLI sends: `X-Registry-Auth` (one registry, pull and push) and
 * `X-Registry-Config` (by registry, builds), base64url JSON of Docker's AuthConfig.
 */
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { readRegistriesConfig, type ClientOptions, type Credentials, type RegistryOptionsFor } from '../oci/index.js';
import { badRequest } from './http.js';

export interface AuthConfig {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress?: string;
}

/**
 * Registry client options for one request: the daemon's registries.json, and the client's
 * credentials or none. The daemon never uses a docker config of its own: clients bring theirs.
 */
export async function registryOptions(root: string, req: IncomingMessage): Promise<ClientOptions> {
  const registries = await readRegistriesConfig(join(root, 'registries.json'));
  const auth = decodeHeader<AuthConfig>(req, 'X-Registry-Auth') ?? {};
  return { registries, credentials: credentialsOf(auth, 'X-Registry-Auth') };
}

/** Registry client options by registry host, from `X-Registry-Config`; a registry it does not name is reached anonymously. */
export async function registryConfigOptions(root: string, req: IncomingMessage): Promise<RegistryOptionsFor> {
  const registries = await readRegistriesConfig(join(root, 'registries.json'));
  const config = decodeHeader<Record<string, AuthConfig>>(req, 'X-Registry-Config') ?? {};
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw badRequest('X-Registry-Config must be a JSON object of registries');
  const byRegistry = new Map(Object.entries(config).map(([r, auth]) => [r, credentialsOf(auth ?? {}, 'X-Registry-Config')]));
  return (registry) => ({ registries, credentials: byRegistry.get(registry) ?? null });
}

function decodeHeader<T>(req: IncomingMessage, name: string): T | undefined {
  const header = req.headers[name.toLowerCase()];
  const raw = Array.isArray(header) ? header[0] : header;
  if (!raw) return undefined;
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as T;
  } catch (cause) {
    throw badRequest(`${name} is not base64url-encoded JSON`, { cause });
  }
}

/** kiln's credentials for a Docker AuthConfig; null (anonymous) when it names none. */
export function credentialsOf(auth: AuthConfig, source: string): Credentials | null {
  if (auth.identitytoken) return { username: '<token>', password: '', identityToken: auth.identitytoken, source };
  if (auth.username) return { username: auth.username, password: auth.password ?? '', source };
  return null;
}
