import test from 'ava';
import { execFile } from 'node:child_process';
import { createSign, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../cache/index.js';
import { login, pullImage, pushImage, RegistryError } from '../oci/index.js';
import { kiln } from './registry-cli.js';
import { makeImage, textDir } from './registry-image.js';
import { freePort, startRegistry, type RegistryServer } from './registry-server.js';

const run = promisify(execFile);
const SERVICE = 'kiln-test-registry';
const ISSUER = 'kiln-test-token-service';

let reg: RegistryServer;
let tokenServer: http.Server;
let tmp: string;
let env: NodeJS.ProcessEnv;
let root: string;
let digest: string;
/** Each token request the service answered: the scopes asked for and whether it granted them. */
const issued: { scopes: string[]; granted: boolean }[] = [];

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * A token service as the distribution auth spec describes: Basic credentials in, a JWT out,
 * signed with a key whose certificate the registry trusts (`auth: token` with rootcertbundle).
 */
function startTokenService(key: string, certDer: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const auth = req.headers.authorization ?? '';
    const user = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString() : undefined;
    if (user !== undefined && user !== 'kiln:t0ken-pass') {
      issued.push({ scopes, granted: false });
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad user or password' }] }));
      return;
    }
    // Anonymous callers get a token that grants nothing, as Docker Hub does for private repos.
    const access = user
      ? scopes.map((s) => {
          const [type, name, actions] = s.split(':');
          return { type, name, actions: actions!.split(',') };
        })
      : [];
    issued.push({ scopes, granted: user !== undefined });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer] }));
    const claims = b64url(JSON.stringify({ iss: ISSUER, sub: user ? 'kiln' : '', aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: String(Math.random()), access }));
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key, 'base64url');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: `${header}.${claims}.${signature}`, expires_in: 300 }));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kiln-reg-token-'));
  const keyFile = join(tmp, 'token.key');
  const certFile = join(tmp, 'token.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=kiln token signer', '-keyout', keyFile, '-out', certFile]);
  const certDer = new X509Certificate(await readFile(certFile)).raw.toString('base64');
  const port = await freePort();
  tokenServer = await startTokenService(await readFile(keyFile, 'utf8'), certDer, port);
  reg = await startRegistry({ token: { realm: `http://127.0.0.1:${port}/token`, service: SERVICE, issuer: ISSUER, rootCertBundle: certFile } });
  env = { DOCKER_CONFIG: join(tmp, 'docker') };
  root = join(tmp, 'root');
  const store = await openStore(root);
  try {
    digest = await makeImage(store, 'local/tok:1', [{ dir: await textDir(tmp, 'a', 'a\n') }, { dir: await textDir(tmp, 'b', 'b\n') }]);
  } finally {
    store.close();
  }
});

test.after.always(async () => {
  await reg?.stop();
  if (tokenServer) await new Promise((r) => tokenServer.close(r));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test.serial('a wrong password is refused by the token service, and the error says so', async (t) => {
  const r = await kiln(['login', reg.host, '-u', 'kiln', '--password-stdin'], { env, input: 'nope\n' });
  t.is(r.code, 1);
  t.regex(r.stderr, /the token service http:\/\/127\.0\.0\.1:\d+ refused the login .*UNAUTHORIZED: bad user or password.*tried user "kiln"/);
  t.regex(r.stderr, /hint: check the user and password/);
});

test.serial('bearer flow: login, push and pull, with one token per scope reused across requests', async (t) => {
  await login(reg.host, { username: 'kiln', password: 't0ken-pass', env });
  issued.length = 0;
  const store = await openStore(root);
  try {
    const pushed = await pushImage(store, 'local/tok:1', `${reg.host}/tok/app:1`, { env });
    t.is(pushed.manifestDigest, digest);
    t.is(pushed.blobs.uploaded, 3);
  } finally {
    store.close();
  }
  // 3 blobs x (HEAD, POST, PUT) + manifest PUT, all under one scope set: a single token.
  t.deepEqual(issued, [{ scopes: ['repository:tok/app:pull,push'], granted: true }]);

  issued.length = 0;
  const fresh = await openStore(join(tmp, 'fresh'));
  try {
    const pulled = await pullImage(fresh, `${reg.host}/tok/app:1`, { env });
    t.is(pulled.manifestDigest, digest);
    t.is(pulled.downloaded, 3);
  } finally {
    fresh.close();
  }
  t.deepEqual(issued, [{ scopes: ['repository:tok/app:pull'], granted: true }]);
});

test.serial('without credentials the token grants nothing and the pull fails as unauthorized', async (t) => {
  const store = await openStore(join(tmp, 'anon'));
  try {
    const err = await t.throwsAsync(pullImage(store, `${reg.host}/tok/app:1`, { env: { DOCKER_CONFIG: join(tmp, 'empty') } }), { instanceOf: RegistryError });
    t.is(err?.code, 'E_REGISTRY_UNAUTHORIZED');
    t.regex(err?.message ?? '', /unauthorized: manifest .*tok\/app:1 \(registry said: UNAUTHORIZED/);
    t.regex(err?.message ?? '', /no credentials were found/);
  } finally {
    store.close();
  }
});
