import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultCaCertificates } from './extra-ca.js';

const PEM = '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n';

test('no NODE_EXTRA_CA_CERTS: no list, Node default stands', (t) => {
  t.is(defaultCaCertificates({}), undefined);
  t.is(defaultCaCertificates({ NODE_EXTRA_CA_CERTS: '' }), undefined);
});

test("NODE_EXTRA_CA_CERTS: Node's bundled roots and the file's certificates", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-extra-ca-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'extra.pem');
  await writeFile(file, PEM);
  const list = defaultCaCertificates({ NODE_EXTRA_CA_CERTS: file });
  t.deepEqual(list, [...rootCertificates, PEM]);
});

test('an unreadable file gives a warning and the bundled roots alone, as Node does', (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  t.is(defaultCaCertificates({ NODE_EXTRA_CA_CERTS: '/nonexistent/kiln-extra.pem' }), undefined);
  return new Promise<void>((resolve) =>
    setImmediate(() => {
      t.is(warnings.length, 1);
      t.regex(warnings[0]!, /Ignoring extra certs from `\/nonexistent\/kiln-extra\.pem`, load failed: .*ENOENT/);
      resolve();
    }),
  );
});
