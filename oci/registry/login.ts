import { RegistryClient, type ClientOptions } from './client.js';
import { eraseCredentials, storeCredentials } from './docker-config.js';

export interface LoginOptions extends ClientOptions {
  username: string;
  password: string;
}

/** The registry host a login applies to; docker's Hub aliases all mean `docker.io`. */
export function loginRegistry(server: string | undefined): string {
  if (!server) return 'docker.io';
  const host = server.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

/** Checks the credentials against the registry, then saves them as docker does. Returns where they went. */
export async function login(server: string | undefined, options: LoginOptions): Promise<{ registry: string; savedTo: string }> {
  const registry = loginRegistry(server);
  const client = await RegistryClient.connect(registry, {
    ...options,
    credentials: { username: options.username, password: options.password, source: 'the given user and password' },
  });
  try {
    await client.checkLogin();
  } finally {
    await client.close();
  }
  const savedTo = await storeCredentials(registry, options.username, options.password, options.env);
  return { registry, savedTo };
}

/** Forgets saved credentials; false when there were none. */
export async function logout(server: string | undefined, env?: NodeJS.ProcessEnv): Promise<{ registry: string; removed: boolean }> {
  const registry = loginRegistry(server);
  return { registry, removed: await eraseCredentials(registry, env) };
}
