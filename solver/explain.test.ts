import test from 'ava';
import { explainMiss, type StepInputs } from './explain.js';

const prev: StepInputs = {
  key: 'k1',
  parent: 'p1',
  command: 'RUN make',
  args: { FOO: '1', BAR: null },
  env: ['PATH=/bin'],
  user: '',
  workdir: '/',
  other: '{}',
  files: { 'src/a.ts': 'd1', 'src/b.ts': 'd2', 'src/c.ts': 'd3' },
};

test('first build and --no-cache', (t) => {
  t.deepEqual(explainMiss(undefined, prev, { noCache: false }), ['first build']);
  t.deepEqual(explainMiss(prev, prev, { noCache: true }), ['--no-cache']);
});

test('names the changed build arg, env, parent and instruction', (t) => {
  t.deepEqual(explainMiss(prev, { ...prev, key: 'k2', args: { FOO: '2', BAR: null } }, { noCache: false }), ['build arg FOO changed']);
  t.deepEqual(explainMiss(prev, { ...prev, key: 'k2', env: ['PATH=/usr/bin'] }, { noCache: false }), ['env PATH changed']);
  t.deepEqual(explainMiss(prev, { ...prev, key: 'k2', parent: 'p2' }, { noCache: false, parentLabel: '#3' }), ['parent step #3 changed']);
  t.deepEqual(explainMiss(prev, { ...prev, key: 'k2', parent: 'p2' }, { noCache: false }), ['base image changed']);
  t.deepEqual(explainMiss(prev, { ...prev, key: 'k2', command: 'RUN make all' }, { noCache: false }), ['instruction changed']);
});

test('names changed context files with a count of the rest', (t) => {
  const one = explainMiss(prev, { ...prev, key: 'k2', files: { ...prev.files, 'src/b.ts': 'x' } }, { noCache: false });
  t.deepEqual(one, ['context files changed: src/b.ts']);
  const three = explainMiss(prev, { ...prev, key: 'k2', files: { 'src/a.ts': 'x', 'src/b.ts': 'y', 'src/d.ts': 'z' } }, { noCache: false });
  t.regex(three[0]!, /^context files changed: src\/\w\.ts \(\+3 more\)$/);
});

test('a removed cache entry with unchanged inputs says so', (t) => {
  t.deepEqual(explainMiss(prev, prev, { noCache: false }), ['cached result was removed']);
});
