import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { collectOutput } from '../test/process-output.js';

const guards = fileURLToPath(new URL('./process-errors.ts', import.meta.url));
const errors = fileURLToPath(new URL('../common/errors.ts', import.meta.url));

/** Runs `body` in a node process with the guards installed, as cli/main.ts installs them. */
function withGuards(body: string) {
  const script = `import { reportProcessErrors } from ${JSON.stringify(guards)};
import { KilnError } from ${JSON.stringify(errors)};
import { Writable } from 'node:stream';
reportProcessErrors(false);
${body}`;
  return collectOutput(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], {});
}

test("a user error in an 'error' event no one listens to is reported as kiln reports errors", async (t) => {
  const r = await withGuards(`new Writable({ write: (_c, _e, cb) => cb(new KilnError('E_X', 'cannot write x', { hint: 'do y' })) }).write('a');`);
  t.is(r.code, 1);
  t.is(r.stderr, 'kiln: cannot write x\nhint: do y\n');
});

test('anything else that escapes is an internal error (exit 70), not a crash dump', async (t) => {
  const r = await withGuards(`Promise.reject(new TypeError('x is undefined'));`);
  t.is(r.code, 70);
  t.regex(r.stderr, /^kiln: internal error: x is undefined\nTypeError: x is undefined\n\s+at /);
  t.notRegex(r.stderr, /triggerUncaughtException|^Node\.js v/m, "not Node's crash dump");
});

test("a stdout whose reader went away is no error to report: the exit status is SIGPIPE's", async (t) => {
  const script = `import { reportProcessErrors } from ${JSON.stringify(guards)};
reportProcessErrors(false);
process.stdout.write('x'.repeat(1 << 20));
setTimeout(() => process.stdout.write('more'), 100);`;
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout!.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 141);
  t.is(stderr, '');
});
