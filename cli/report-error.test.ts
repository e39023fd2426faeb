import test from 'ava';
import { DockerfileError, KilnError } from '../common/errors.js';
import { reportError } from './report-error.js';

function capture(err: unknown, debug = false): { code: number; out: string } {
  let out = '';
  const code = reportError(err, debug, (s) => (out += s));
  return { code, out };
}

test('a Dockerfile error prints FILE:LINE:COL, the line, a caret and its hint; exit 1', (t) => {
  const err = new DockerfileError('E_X', 'bad thing', { file: 'Dockerfile', line: 2, column: 5 }, 'RUN  oops', { hint: 'do this' });
  const r = capture(err);
  t.is(r.code, 1);
  t.is(r.out, 'Dockerfile:2:5: bad thing\n  RUN  oops\n      ^\nhint: do this\n');
});

test('a user error prints its message and hint without a stack trace', (t) => {
  const r = capture(new KilnError('E_Y', 'no such image', { hint: 'pull it' }));
  t.is(r.code, 1);
  t.is(r.out, 'kiln: no such image\nhint: pull it\n');
  t.false(r.out.includes('    at '));
});

test('--debug adds the stack to a user error', (t) => {
  const r = capture(new KilnError('E_Y', 'no such image'), true);
  t.regex(r.out, /^kiln: no such image\nKilnError: no such image\n\s+at /);
});

test('anything else is an internal error with its stack and exit code 70', (t) => {
  const r = capture(new TypeError('x is undefined'));
  t.is(r.code, 70);
  t.regex(r.out, /^kiln: internal error: x is undefined\nTypeError: x is undefined\n\s+at /);
});

test('a user error with the exit code docker uses for it ends kiln with that code', (t) => {
  const r = capture(new KilnError('E_RUNTIME_START', 'cannot start container: exec: "/x": no such file', { hint: 'check the command', exitCode: 127 }));
  t.is(r.code, 127);
  t.is(r.out, 'kiln: cannot start container: exec: "/x": no such file\nhint: check the command\n');
});
