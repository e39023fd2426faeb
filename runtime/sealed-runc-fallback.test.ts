import test from 'ava';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareSealedRunc, runcToRun, sealedRuncReady } from './sealed-runc.js';

test('a binary whose copy does not run leaves runc running from its file', async (t) => {
  if (process.geteuid?.() !== 0) return t.fail('these tests run as root (.ci/run)');
  const dir = mkdtempSync(join(tmpdir(), 'kiln-sealed-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // `false --version` fails, as a copy the kernel refuses to execute would.
  const binary = join(dir, 'runc');
  copyFileSync('/bin/false', binary);
  chmodSync(binary, 0o755);
  const alive = setInterval(() => undefined, 1000);
  t.teardown(() => clearInterval(alive));
  prepareSealedRunc(binary);
  t.is(await sealedRuncReady(), undefined);
  t.is(runcToRun(binary), binary);
});
