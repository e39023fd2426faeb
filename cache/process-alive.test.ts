import test from 'ava';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive } from './process-alive.js';

test('a running process is alive; once it exits it is not, even while still a zombie nobody reaped', async (t) => {
  t.true(processAlive(process.pid));
  // A shell that starts a child, then stops without reaping it: the child becomes a zombie of that shell.
  const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
  try {
    t.true(processAlive(pid));
    for (let i = 0; i < 100 && processAlive(pid); i++) await sleep(20);
    t.false(processAlive(pid), 'the exited child is dead to kiln');
    t.true(processAlive(parent.pid!));
  } finally {
    parent.kill('SIGKILL');
  }
});

test('a pid nobody has is not alive', (t) => {
  t.false(processAlive(2 ** 22 + 12345));
});
