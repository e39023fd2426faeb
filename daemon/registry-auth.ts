/** Credentials the docker CLI sends in `X-Registry-Auth`: base64url JSON, as Docker's AuthConfig. */
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { readRegistriesConfig, type ClientOptions, type Credentials } from '../oci/index.js';
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
  const header = req.headers['x-registry-auth'];
  const raw = Array.isArray(header) ? header[0] : header;
  let auth: AuthConfig = {};
  if (raw) {
    try {
      auth = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as AuthConfig;
    } catch (cause) {
      throw badRequest('X-Registry-Auth is not base64url-encoded JSON', { cause });
    }
  }
  return { registries, credentials: credentialsOf(auth, 'X-Registry-Auth') };
}

/** kiln's credentials for a Docker AuthConfig; null (anonymous) when it names none. */
export function credentialsOf(auth: AuthConfig, source: string): Credentials | null {
  if (auth.identitytoken) return { username: '<token>', password: '', identityToken: auth.identitytoken, source };
  if (auth.username) return { username: auth.username, password: auth.password ?? '', source };
  return null;
}
