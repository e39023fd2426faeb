import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRegistriesConfig, resolveEndpoint, type TransportOptions } from './endpoint.js';
import { RegistryError } from './errors.js';

async function origins(registry: string, options: TransportOptions = {}): Promise<string[]> {
  const e = await resolveEndpoint(registry, options);
  await e.dispatcher.close();
  return e.origins;
}

test('loopback registries use plain HTTP, everything else HTTPS; docker.io is registry-1', async (t) => {
  t.deepEqual(await origins('127.0.0.1:5000'), ['http://127.0.0.1:5000']);
  t.deepEqual(await origins('localhost:5000'), ['http://localhost:5000']);
  t.deepEqual(await origins('[::1]:5000'), ['http://[::1]:5000']);
  t.deepEqual(await origins('registry.example:5000'), ['https://registry.example:5000']);
  t.deepEqual(await origins('docker.io'), ['https://registry-1.docker.io']);
});

test('a CA file makes loopback HTTPS; insecure registries try HTTPS then HTTP', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-endpoint-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ca = join(dir, 'ca.pem');
  await writeFile(ca, '');
  t.deepEqual(await origins('127.0.0.1:5000', { caFile: ca }), ['https://127.0.0.1:5000']);
  t.deepEqual(await origins('r.example', { insecureRegistries: ['r.example'] }), ['https://r.example', 'http://r.example']);
  t.deepEqual(await origins('r.example', { registries: { 'r.example': { insecure: true } } }), ['https://r.example', 'http://r.example']);
  t.deepEqual(await origins('127.0.0.1:1', { registries: { '127.0.0.1:1': { caFile: ca } } }), ['https://127.0.0.1:1']);
  const err = await t.throwsAsync(origins('r.example', { caFile: join(dir, 'missing.pem') }), { instanceOf: RegistryError });
  t.is(err?.code, 'E_REGISTRY_CONFIG');
});

test('registries.json: absent is empty, broken is a clear error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-endpoint-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.deepEqual(await readRegistriesConfig(join(dir, 'registries.json')), {});
  await writeFile(join(dir, 'registries.json'), '{"h:1": {"insecure": true}}');
  t.deepEqual(await readRegistriesConfig(join(dir, 'registries.json')), { 'h:1': { insecure: true } });
  await writeFile(join(dir, 'registries.json'), '{');
  const err = await t.throwsAsync(readRegistriesConfig(join(dir, 'registries.json')), { instanceOf: RegistryError });
  t.is(err?.code, 'E_REGISTRY_CONFIG');
});
