import test from 'ava';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerConfigPath, eraseCredentials, getCredentials, loadDockerCredentials, storeCredentials } from './docker-config.js';
import { RegistryError } from './errors.js';

async function tempEnv(t: { teardown: (f: () => Promise<void>) => void }): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-dockercfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return { dir, env: { ...process.env, DOCKER_CONFIG: join(dir, 'docker') } };
}

test('config path follows DOCKER_CONFIG, else ~/.docker', (t) => {
  t.is(dockerConfigPath({ DOCKER_CONFIG: '/x/y' }), '/x/y/config.json');
  t.true(dockerConfigPath({}).endsWith('/.docker/config.json'));
});

test('store then get round-trips through base64 auths, keeping other keys; mode 0600', async (t) => {
  const { dir, env } = await tempEnv(t);
  await storeCredentials('r.example:5000', 'u', 'p:w', env);
  const path = join(dir, 'docker', 'config.json');
  await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, 'utf8')), psFormat: 'x' }));
  await storeCredentials('docker.io', 'hub', 'pw', env);
  const file = JSON.parse(await readFile(path, 'utf8'));
  t.is(file.psFormat, 'x');
  t.deepEqual(Object.keys(file.auths).sort(), ['https://index.docker.io/v1/', 'r.example:5000']);
  t.is((await stat(path)).mode & 0o777, 0o600);
  t.like(await getCredentials('r.example:5000', env), { username: 'u', password: 'p:w' });
  t.like(await getCredentials('docker.io', env), { username: 'hub', password: 'pw' });
  t.is(await getCredentials('other.example', env), undefined);
  t.true(await eraseCredentials('r.example:5000', env));
  t.false(await eraseCredentials('r.example:5000', env));
  t.is(await getCredentials('r.example:5000', env), undefined);
});

test('keys written with a scheme, as older docker did, are found by host', async (t) => {
  const { dir, env } = await tempEnv(t);
  await mkdir(join(dir, 'docker'));
  await writeFile(join(dir, 'docker', 'config.json'), JSON.stringify({ auths: { 'https://r.example/v2/': { auth: Buffer.from('a:b').toString('base64') } } }));
  t.like(await getCredentials('r.example', env), { username: 'a', password: 'b' });
});

test('credential helpers: credHelpers per registry, credsStore otherwise, <token> as identity token', async (t) => {
  const { dir, env } = await tempEnv(t);
  await mkdir(join(dir, 'docker'));
  const bin = join(dir, 'bin');
  await mkdir(bin);
  // A fake helper that keeps credentials in a JSON file, speaking the helper protocol.
  const helper = `#!/bin/sh
store="${dir}/helper-store.json"
input=$(cat)
case "$1" in
  get) node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const e=s[process.argv[2]];if(!e){console.log("credentials not found in native keychain");process.exit(1)}console.log(JSON.stringify(e))' "$store" "$input";;
  store) node -e 'const fs=require("fs");let s={};try{s=JSON.parse(fs.readFileSync(process.argv[1],"utf8"))}catch{};const e=JSON.parse(process.argv[2]);s[e.ServerURL]={ServerURL:e.ServerURL,Username:e.Username,Secret:e.Secret};fs.writeFileSync(process.argv[1],JSON.stringify(s))' "$store" "$input";;
  erase) node -e 'const fs=require("fs");const s=JSON.parse(fs.readFileSync(process.argv[1],"utf8"));delete s[process.argv[2]];fs.writeFileSync(process.argv[1],JSON.stringify(s))' "$store" "$input";;
esac
`;
  await writeFile(join(bin, 'docker-credential-fake'), helper);
  await chmod(join(bin, 'docker-credential-fake'), 0o755);
  await writeFile(join(dir, 'helper-store.json'), JSON.stringify({ 'tok.example': { Username: '<token>', Secret: 'refresh-me' } }));
  await writeFile(join(dir, 'docker', 'config.json'), JSON.stringify({ credHelpers: { 'tok.example': 'fake', 'h.example': 'fake' }, credsStore: 'missing-helper' }));
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  t.teardown(() => {
    process.env.PATH = path;
  });
  t.like(await getCredentials('tok.example', env), { identityToken: 'refresh-me', source: 'docker-credential-fake' });
  t.is(await getCredentials('h.example', env), undefined);
  t.is(await storeCredentials('h.example', 'hu', 'hp', env), 'docker-credential-fake');
  t.like(await getCredentials('h.example', env), { username: 'hu', password: 'hp' });
  t.true(await eraseCredentials('h.example', env));
  t.is(await getCredentials('h.example', env), undefined);
  const err = await t.throwsAsync(getCredentials('elsewhere.example', env), { instanceOf: RegistryError });
  t.is(err?.code, 'E_REGISTRY_CREDENTIALS');
  t.regex(err?.message ?? '', /docker-credential-missing-helper/);
});

test('a broken config file is a clear error', async (t) => {
  const { dir, env } = await tempEnv(t);
  await mkdir(join(dir, 'docker'));
  await writeFile(join(dir, 'docker', 'config.json'), '{not json');
  const err = await t.throwsAsync(getCredentials('r.example', env), { instanceOf: RegistryError });
  t.regex(err?.message ?? '', /config\.json is not valid JSON/);
});

test('loadDockerCredentials reads the file once: every lookup answers from that reading', async (t) => {
  const { dir, env } = await tempEnv(t);
  await storeCredentials('a.example', 'ua', 'pa', env);
  await storeCredentials('b.example', 'ub', 'pb', env);
  const docker = await loadDockerCredentials(env);
  await rm(join(dir, 'docker', 'config.json'));
  t.deepEqual(Object.keys(docker.config.auths ?? {}).sort(), ['a.example', 'b.example']);
  t.like(await docker.get('a.example'), { username: 'ua', password: 'pa' });
  t.like(await docker.get('b.example'), { username: 'ub', password: 'pb' });
  t.is(await docker.get('c.example'), undefined);
});
