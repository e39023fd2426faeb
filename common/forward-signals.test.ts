import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { forwardSignals } from './forward-signals.js';

// process.emit runs the listeners as a delivered signal would, without signalling the test process.

test.serial('each signal is passed on; an ending one is followed by the kill once the grace has run out', async (t) => {
  const sent: string[] = [];
  const stop = forwardSignals((s) => sent.push(s), { escalate: { afterMs: 50, kill: () => sent.push('kill') } });
  try {
    process.emit('SIGUSR1');
    process.emit('SIGTERM');
    process.emit('SIGHUP');
    t.deepEqual(sent, ['SIGUSR1', 'SIGTERM', 'SIGHUP']);
    await sleep(300);
    t.deepEqual(sent, ['SIGUSR1', 'SIGTERM', 'SIGHUP', 'kill'], 'one kill, however many ending signals');
  } finally {
    stop();
  }
  process.emit('SIGINT');
  t.is(sent.length, 4, 'nothing is passed on after stop');
  t.is(process.listenerCount('SIGINT'), 0);
});

test.serial('stopping cancels a pending kill; skipped signals are not passed on and start no kill', async (t) => {
  const sent: string[] = [];
  const stop = forwardSignals((s) => sent.push(s), { skip: (s) => s === 'SIGTERM', escalate: { afterMs: 50, kill: () => sent.push('kill') } });
  process.emit('SIGTERM');
  process.emit('SIGQUIT');
  await sleep(200);
  t.deepEqual(sent, ['SIGQUIT']);
  process.emit('SIGHUP');
  stop();
  await sleep(200);
  t.deepEqual(sent, ['SIGQUIT', 'SIGHUP']);
});
