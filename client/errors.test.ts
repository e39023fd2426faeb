import test from 'ava';
import { KilnError } from '../common/errors.js';
import { errorFromBody } from './errors.js';

test("kiln's error detail is rebuilt; Docker's message or the raw text otherwise, under E_DAEMON_<status>", (t) => {
  const kiln = errorFromBody(400, JSON.stringify({ message: 'x', kiln: { code: 'E_USAGE', message: 'bad flag', hint: 'see --help' } }), 'unix:///s');
  t.is(kiln.code, 'E_USAGE');
  t.is(kiln.message, 'bad flag');
  t.is(kiln.hint, 'see --help');
  t.is(errorFromBody(404, JSON.stringify({ message: 'no such image' }), 'unix:///s').message, 'no such image');
  const text = errorFromBody(502, 'Bad Gateway\n', 'unix:///s');
  t.is(text.code, 'E_DAEMON_502');
  t.is(text.message, 'Bad Gateway');
});

test('a JSON body that is not an object (null, a number) is a message, not a crash', (t) => {
  for (const raw of ['null', '42']) {
    const e = errorFromBody(500, raw, 'unix:///s');
    t.true(e instanceof KilnError, raw);
    t.is(e.code, 'E_DAEMON_500', raw);
    t.is(e.message, raw);
  }
  t.is(errorFromBody(500, '', 'unix:///s').message, 'the kiln daemon at unix:///s answered 500');
});
