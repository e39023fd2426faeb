import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoSpaceError } from '../common/errors.js';
import { StepLog } from './step-log.js';

test('a log file that cannot be written fails the step at close, not kiln: the output still reaches the tail', async (t) => {
  const seen: string[] = [];
  // Every write to /dev/full fails with ENOSPC, as a full state root does.
  const log = new StepLog('/dev/full', (d) => seen.push(d));
  for (const line of ['one\n', 'two\n']) await new Promise<void>((resolve, reject) => log.write(line, (e) => (e ? reject(e) : resolve())));
  t.deepEqual(log.tail(), ['one', 'two']);
  t.deepEqual(seen, ['one\n', 'two\n']);
  const err = await t.throwsAsync(log.close());
  t.true(err instanceof NoSpaceError, String(err));
});

test('the log file holds every byte written, and exists, empty, for a step with no output', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-step-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new StepLog(join(dir, 'logs/step-1.log'), () => undefined);
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}\n`);
  for (const line of lines) log.write(line);
  await log.close();
  await log.close();
  t.is(readFileSync(log.path, 'utf8'), lines.join(''));
  t.deepEqual(log.tail(), lines.slice(-20).map((l) => l.slice(0, -1)));
  const quiet = new StepLog(join(dir, 'logs/step-2.log'), () => undefined);
  await quiet.close();
  t.is(readFileSync(quiet.path, 'utf8'), '');
});
