import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { Scheduler } from './scheduler.js';

test('runs at most `jobs` vertices at once', async (t) => {
  const s = new Scheduler({ jobs: 2 });
  let running = 0;
  let peak = 0;
  await Promise.all(
    [1, 2, 3, 4, 5].map((i) =>
      s.run(`k${i}`, async () => {
        peak = Math.max(peak, ++running);
        await sleep(20);
        running--;
      }),
    ),
  );
  t.is(peak, 2);
});

test('the same key runs once and every caller gets its result', async (t) => {
  const s = new Scheduler({ jobs: 4 });
  let calls = 0;
  const fn = async () => {
    calls++;
    await sleep(10);
    return 'layer';
  };
  const results = await Promise.all([s.run('same', fn), s.run('same', fn), s.run('other', fn)]);
  t.deepEqual(results, ['layer', 'layer', 'layer']);
  t.is(calls, 2);
});

test('a failure aborts running vertices and keeps queued ones from starting', async (t) => {
  const s = new Scheduler({ jobs: 2 });
  let abortedRunning = false;
  let queuedStarted = false;
  const boom = new Error('boom');
  const slow = s.run('slow', (signal) => new Promise((_res, rej) => signal.addEventListener('abort', () => ((abortedRunning = true), rej(new Error('aborted'))))));
  const failing = s.run('fail', async () => {
    await sleep(5);
    throw boom;
  });
  const queued = s.run('queued', async () => {
    queuedStarted = true;
  });
  await t.throwsAsync(failing, { is: boom });
  await t.throwsAsync(slow);
  await t.throwsAsync(queued);
  t.true(abortedRunning);
  t.false(queuedStarted);
  t.is(s.firstError, boom);
  t.throws(() => s.check(), { is: boom });
});

test('an outer abort signal cancels the build', async (t) => {
  const ac = new AbortController();
  const s = new Scheduler({ jobs: 1, signal: ac.signal });
  const p = s.run('x', (signal) => new Promise((_r, rej) => signal.addEventListener('abort', () => rej(new Error('killed')))));
  ac.abort();
  await t.throwsAsync(p);
  t.is((s.firstError as { code?: string }).code, 'E_BUILD_CANCELLED');
});

test('schedulers sharing steps run a key once across builds; a failed owner lets the waiter run it', async (t) => {
  const shared = new Map<string, Promise<unknown>>();
  const a = new Scheduler({ jobs: 2, shared });
  const b = new Scheduler({ jobs: 2, shared });
  let calls = 0;
  const fn = async () => {
    calls++;
    await sleep(20);
    return 'layer';
  };
  t.deepEqual(await Promise.all([a.run('k', fn), b.run('k', fn)]), ['layer', 'layer']);
  t.is(calls, 1);
  t.is(shared.size, 0);

  const failing = a.run('f', async () => {
    await sleep(10);
    throw new Error('cancelled');
  });
  const waiter = b.run('f', async () => 'ran here');
  await t.throwsAsync(failing);
  t.is(await waiter, 'ran here');
});
