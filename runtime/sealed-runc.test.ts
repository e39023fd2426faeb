import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readlinkSync, writeFileSync } from 'node:fs';
import { findProgram } from './find-program.js';
import { prepareSealedRunc, runcToRun, sealedRuncReady } from './sealed-runc.js';

test('runc runs from a sealed copy once it is made, and from its own file again once the copy is gone', async (t) => {
  const runc = findProgram('runc');
  if (runc === undefined || process.geteuid?.() !== 0) return t.fail('these tests run as root with runc installed (.ci/run)');
  t.is(runcToRun(runc), runc, 'before the copy is made');
  // The holder does not keep a process alive (kiln's builds do); this test waits on it.
  const alive = setInterval(() => undefined, 1000);
  t.teardown(() => clearInterval(alive));
  prepareSealedRunc(runc);
  const copy = await sealedRuncReady();
  t.truthy(copy, 'made where perl and memfd_create are available');
  const held = /^\/proc\/(\d+)\/fd\/\d+$/.exec(copy!);
  t.truthy(held, copy);
  t.regex(readlinkSync(copy!), /^\/memfd:kiln-runc/);
  t.is(execFileSync(copy!, ['--version'], { encoding: 'utf8' }), execFileSync(runc, ['--version'], { encoding: 'utf8' }));
  t.throws(() => writeFileSync(copy!, 'overwritten', { flag: 'r+' }), { code: 'EPERM' }, 'sealed against writes, as runc requires to trust it');
  t.is(runcToRun(runc), copy!, 'runc run execs the copy');
  t.is(runcToRun('/some/other/runc'), '/some/other/runc', 'a copy of one binary is no copy of another');
  process.kill(Number(held![1]), 'SIGKILL');
  while (runcToRun(runc) !== runc) await new Promise((r) => setTimeout(r, 5));
  t.pass('with its holder killed, runc runs from its own file');
});
