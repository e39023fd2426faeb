import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../cache/index.js';
import { pullImage, RegistryError } from '../oci/index.js';
import { kiln } from './registry-cli.js';
import { makeImage, textDir } from './registry-image.js';
import { makeCertificates, startRegistry, type RegistryServer, type TestCertificates } from './registry-server.js';

const run = promisify(execFile);

let reg: RegistryServer;
let tmp: string;
let certs: TestCertificates;
let env: NodeJS.ProcessEnv;
let root: string;
let digest: string;

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kiln-reg-tls-'));
  await mkdir(join(tmp, 'certs'));
  certs = await makeCertificates(join(tmp, 'certs'));
  const { stdout } = await run('htpasswd', ['-Bbn', 'kiln', 's3cret']);
  const htpasswd = join(tmp, 'htpasswd');
  await writeFile(htpasswd, stdout);
  reg = await startRegistry({ tls: { cert: certs.cert, key: certs.key, ca: certs.caCert }, htpasswd });
  env = { DOCKER_CONFIG: join(tmp, 'docker') };
  root = join(tmp, 'root');
  const store = await openStore(root);
  try {
    digest = await makeImage(store, 'local/tls:1', [{ dir: await textDir(tmp, 'one', 'one\n') }, { dir: await textDir(tmp, 'two', 'two\n') }]);
  } finally {
    store.close();
  }
});

test.after.always(async () => {
  await reg?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test.serial('a wrong password is refused with a clear error and nothing is saved', async (t) => {
  const r = await kiln(['login', reg.host, '-u', 'kiln', '--password-stdin', '--ca-file', certs.caCert], { env, input: 'wrong\n' });
  t.is(r.code, 1);
  t.regex(r.stderr, new RegExp(`kiln: unauthorized: registry ${reg.host}.*tried user "kiln" from the given user and password`));
  t.regex(r.stderr, /hint: log in with: kiln login/);
  t.notRegex(r.stderr, /\n\s+at /);
  await t.throwsAsync(stat(join(tmp, 'docker', 'config.json')), { code: 'ENOENT' });
});

test.serial('login over TLS with htpasswd saves the credentials; push and pull use them', async (t) => {
  const login = await kiln(['login', reg.host, '-u', 'kiln', '--password-stdin', '--ca-file', certs.caCert], { env, input: 's3cret\n' });
  t.is(login.code, 0, login.stderr);
  t.regex(login.stdout, /Login Succeeded/);
  const file = join(tmp, 'docker', 'config.json');
  t.is((await stat(file)).mode & 0o777, 0o600);
  const config = JSON.parse(await readFile(file, 'utf8')) as { auths: Record<string, { auth: string }> };
  t.is(Buffer.from(config.auths[reg.host]!.auth, 'base64').toString(), 'kiln:s3cret');

  const push = await kiln(['--root', root, 'push', '--ca-file', certs.caCert, 'local/tls:1', `${reg.host}/secure/app:1`], { env });
  t.is(push.code, 0, push.stderr);

  const fresh = await openStore(join(tmp, 'fresh'));
  try {
    const pulled = await pullImage(fresh, `${reg.host}/secure/app:1`, { caFile: certs.caCert, env });
    t.is(pulled.manifestDigest, digest);
    t.is(pulled.downloaded, 3);
  } finally {
    fresh.close();
  }
});

test.serial('without the CA the TLS failure names the flags that fix it; --insecure-registry skips verification', async (t) => {
  const store = await openStore(join(tmp, 'tls-root'));
  try {
    const plain = await t.throwsAsync(pullImage(store, `${reg.host}/secure/app:1`, { env }), { instanceOf: RegistryError });
    t.is(plain?.code, 'E_REGISTRY_TLS');
    t.regex(plain?.message ?? '', /serves HTTPS, but kiln spoke plain HTTP/);
    t.regex(plain?.hint ?? '', /--ca-file/);

    await mkdir(join(tmp, 'other-ca'));
    const otherCa = join(tmp, 'other-ca', 'ca.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=other CA', '-keyout', join(tmp, 'other-ca', 'ca.key'), '-out', otherCa]);
    const err = await t.throwsAsync(pullImage(store, `${reg.host}/secure/app:1`, { env, caFile: otherCa }), { instanceOf: RegistryError });
    t.is(err?.code, 'E_REGISTRY_TLS');
    t.regex(err?.message ?? '', new RegExp(`TLS connection to ${reg.host} failed`));
    t.regex(err?.hint ?? '', /--ca-file/);
    t.regex(err?.hint ?? '', new RegExp(`--insecure-registry ${reg.host}`));
    const pulled = await pullImage(store, `${reg.host}/secure/app:1`, { env, insecureRegistries: [reg.host] });
    t.is(pulled.manifestDigest, digest);
  } finally {
    store.close();
  }
});

test.serial('kiln build pulls a FROM image that only the TLS registry has with --ca-file or --insecure-registry; without either the error names them', async (t) => {
  const buildRoot = join(tmp, 'build-root');
  const dockerfile = `FROM ${reg.host}/secure/app:1\nLABEL built=yes\n`;
  const refused = await kiln(['--root', buildRoot, 'build', '-'], { env, input: dockerfile });
  t.is(refused.code, 1);
  t.regex(refused.stderr, new RegExp(`image "${reg.host}/secure/app:1" is not in the local store and could not be pulled: .*serves HTTPS, but kiln spoke plain HTTP`));
  t.regex(refused.stderr, new RegExp(`hint: .*--ca-file.*--insecure-registry ${reg.host}`));
  t.notRegex(refused.stderr, /\n\s+at /);

  const built = await kiln(['--root', buildRoot, 'build', '--ca-file', certs.caCert, '-'], { env, input: dockerfile });
  t.is(built.code, 0, built.stderr);
  const store = await openStore(buildRoot);
  try {
    t.is((await store.resolveImage(`${reg.host}/secure/app:1`)).manifestDigest, digest);
  } finally {
    store.close();
  }
  const skipVerify = await kiln(['--root', join(tmp, 'build-insecure-root'), 'build', '--insecure-registry', reg.host, '-'], { env, input: dockerfile });
  t.is(skipVerify.code, 0, skipVerify.stderr);
});

test.serial('after logout the registry refuses and the error says no credentials were found', async (t) => {
  const out = await kiln(['logout', reg.host], { env });
  t.is(out.code, 0, out.stderr);
  t.regex(out.stdout, new RegExp(`Removing login credentials for ${reg.host}`));
  const config = JSON.parse(await readFile(join(tmp, 'docker', 'config.json'), 'utf8')) as { auths: Record<string, unknown> };
  t.deepEqual(config.auths, {});
  const store = await openStore(join(tmp, 'anon-root'));
  try {
    const err = await t.throwsAsync(pullImage(store, `${reg.host}/secure/app:1`, { caFile: certs.caCert, env }), { instanceOf: RegistryError });
    t.is(err?.code, 'E_REGISTRY_UNAUTHORIZED');
    t.regex(err?.message ?? '', /no credentials were found/);
    t.regex(err?.hint ?? '', /kiln login/);
  } finally {
    store.close();
  }
});
