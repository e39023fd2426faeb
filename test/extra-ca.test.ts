import test from 'ava';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtKiln } from './built-cli.js';
import { makeCertificates, type TestCertificates } from './registry-server.js';

let tmp: string;
let certs: TestCertificates;
let server: Server;
let url: string;

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kiln-extra-ca-'));
  await mkdir(join(tmp, 'certs'));
  certs = await makeCertificates(join(tmp, 'certs'));
  server = createServer({ cert: await readFile(certs.cert), key: await readFile(certs.key) }, (_req, res) => res.end('served over TLS\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/greeting.txt`;
});

test.after.always(async () => {
  server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// bin/kiln.js starts Node without NODE_EXTRA_CA_CERTS (its #! line), so this download trusts the
// test CA only because kiln hands the variable's certificates to the connection itself.
test('ADD of an https URL trusts the CA that NODE_EXTRA_CA_CERTS names, as Node would', async (t) => {
  const dest = join(tmp, 'out');
  const dockerfile = `FROM scratch\nADD ${url} /greeting.txt\n`;
  const r = await builtKiln(join(tmp, 'root'), ['build', '--output', `type=local,dest=${dest}`, '-'], { input: dockerfile, env: { NODE_EXTRA_CA_CERTS: certs.caCert } });
  t.is(r.code, 0, r.stderr);
  t.is(await readFile(join(dest, 'greeting.txt'), 'utf8'), 'served over TLS\n');
});

test('without NODE_EXTRA_CA_CERTS the same download fails on the unknown CA', async (t) => {
  const dockerfile = `FROM scratch\nADD ${url} /greeting.txt\n`;
  const r = await builtKiln(join(tmp, 'root-plain'), ['build', '--no-cache', '-'], { input: dockerfile, env: { NODE_EXTRA_CA_CERTS: '' } });
  t.is(r.code, 1);
  t.regex(r.stderr, /failed to load https:\/\/127\.0\.0\.1:\d+\/greeting\.txt: .*(certificate|issuer)/i);
});
