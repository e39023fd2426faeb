/** `POST /auth` (docker login): checks the credentials against the registry; the client keeps them. */
import { join } from 'node:path';
import { loginRegistry, readRegistriesConfig, RegistryClient } from '../../oci/index.js';
import { badRequest, readJson, sendJson } from '../http.js';
import { credentialsOf, type AuthConfig } from '../registry-auth.js';
import type { Handler } from '../router.js';

export const auth: Handler = async (ctx, { req, res }) => {
  const body = await readJson<AuthConfig>(req);
  const credentials = credentialsOf(body, 'docker login');
  if (!credentials) throw badRequest('username and password (or an identity token) are required');
  const registry = loginRegistry(body.serveraddress);
  const client = await RegistryClient.connect(registry, { registries: await readRegistriesConfig(join(ctx.root, 'registries.json')), credentials });
  try {
    await client.checkLogin();
  } finally {
    await client.close();
  }
  sendJson(res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
};
