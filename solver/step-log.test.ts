import test from 'ava';
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
