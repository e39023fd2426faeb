import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeCredentials } from '../oci/index.js';
import { registryAuthHeader, registryConfigHeader } from './registry-auth.js';

const decode = (header: string | undefined) => JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as unknown;

let dir: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-client-auth-'));
  // Each test file runs in a process of its own: the client reads this config, not the user's.
  process.env.DOCKER_CONFIG = join(dir, 'docker');
  await storeCredentials('a.example', 'ua', 'pa');
  await storeCredentials('b.example:5000', 'ub', 'pb');
});

test.after.always(() => rm(dir, { recursive: true, force: true }));

test('X-Registry-Auth carries the credentials of the reference\'s registry, and is left out without any', async (t) => {
  const headers = await registryAuthHeader('b.example:5000/team/app:1');
  t.deepEqual(decode(headers['X-Registry-Auth']), { username: 'ub', password: 'pb', serveraddress: 'b.example:5000' });
  t.deepEqual(await registryAuthHeader('c.example/app:1'), {});
});

test('X-Registry-Config has every configured registry and the named ones that have credentials', async (t) => {
  const headers = await registryConfigHeader(['c.example', 'a.example']);
  t.deepEqual(decode(headers['X-Registry-Config']), {
    'a.example': { username: 'ua', password: 'pa', serveraddress: 'a.example' },
    'b.example:5000': { username: 'ub', password: 'pb', serveraddress: 'b.example:5000' },
  });
});
