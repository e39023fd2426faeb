/**
 * The client's registry credentials for the daemon, as the docker CLI sends them: read from the
 * client's own docker config (helpers included) and carried in a header, never stored by the daemon.
 */
import type { AuthConfig } from '../daemon/index.js';
import { loadDockerCredentials, loginRegistry, parseReference, type DockerCredentials } from '../oci/index.js';
import type { DaemonClient } from './connection.js';

async function authConfig(docker: DockerCredentials, registry: string): Promise<AuthConfig | undefined> {
  const c = await docker.get(registry);
  if (!c) return undefined;
  return c.identityToken ? { identitytoken: c.identityToken, serveraddress: registry } : { username: c.username, password: c.password, serveraddress: registry };
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** `X-Registry-Auth` for the registry of `reference` (pull, push); none when the client has no credentials for it. */
export async function registryAuthHeader(reference: string): Promise<Record<string, string>> {
  const auth = await authConfig(await loadDockerCredentials(), parseReference(reference).registry);
  return auth ? { 'X-Registry-Auth': encode(auth) } : {};
}

/**
 * `X-Registry-Config` (as Docker's /build takes it): credentials by registry host, for the
 * registries a build names and, as docker sends, every one the docker config has (base images).
 */
export async function registryConfigHeader(registries: Iterable<string>): Promise<Record<string, string>> {
  const docker = await loadDockerCredentials();
  const configured = [...Object.keys(docker.config.auths ?? {}), ...Object.keys(docker.config.credHelpers ?? {})].map(loginRegistry);
  const config: Record<string, AuthConfig> = {};
  for (const r of new Set([...registries, ...configured])) {
    const auth = await authConfig(docker, r);
    if (auth) config[r] = auth;
  }
  return Object.keys(config).length > 0 ? { 'X-Registry-Config': encode(config) } : {};
}

/** `docker login` through the daemon: the daemon checks the credentials against the registry; the client keeps them. */
export async function verifyLogin(client: DaemonClient, registry: string, username: string, password: string): Promise<void> {
  await client.json('POST', '/auth', { username, password, serveraddress: registry });
}
