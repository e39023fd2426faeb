import test from 'ava';
import { baseKey, canonicalJson, runKey, vertexKey, type RunKeyInput } from './keys.js';

const run: RunKeyInput = {
  parent: baseKey('sha256:' + 'a'.repeat(64)),
  argv: ['/bin/sh', '-c', 'make'],
  env: ['PATH=/bin', 'FOO=1'],
  user: '',
  workdir: '/src',
  mounts: [{ type: 'secret', id: 'tok', target: '/run/secrets/tok', required: false }],
  network: 'default',
  security: 'sandbox',
};

test('canonical JSON sorts keys at every level and drops undefined', (t) => {
  t.is(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: 0 }], c: 3 } }), '{"a":{"c":3,"d":[2,{"x":0,"z":1}]},"b":1}');
});

test('same definition, same key; key order of the definition does not matter', (t) => {
  t.is(vertexKey({ op: 'x', definition: { a: 1, b: 2 }, parents: ['p'] }), vertexKey({ op: 'x', definition: { b: 2, a: 1 }, parents: ['p'] }));
  t.regex(runKey(run), /^sha256:[a-f0-9]{64}$/);
  t.is(runKey(run), runKey({ ...run, mounts: [...run.mounts] }));
});

test('every RUN input changes the key', (t) => {
  const k = runKey(run);
  const variants: Partial<RunKeyInput>[] = [
    { parent: baseKey(undefined) },
    { argv: ['/bin/sh', '-c', 'make all'] },
    { env: ['PATH=/bin', 'FOO=2'] },
    { user: 'nobody' },
    { workdir: '/' },
    { mounts: [] },
    { mounts: [{ type: 'secret', id: 'other', target: '/run/secrets/tok', required: false }] },
    { network: 'none' },
    { security: 'insecure' },
  ];
  const keys = new Set([k, ...variants.map((v) => runKey({ ...run, ...v }))]);
  t.is(keys.size, variants.length + 1);
});

test('op, parents and input digests are part of the key', (t) => {
  const base = { op: 'copy', definition: { src: 'a' }, parents: ['p1'], inputs: ['sha256:1'] };
  const k = vertexKey(base);
  t.not(k, vertexKey({ ...base, op: 'add' }));
  t.not(k, vertexKey({ ...base, parents: ['p2'] }));
  t.not(k, vertexKey({ ...base, inputs: ['sha256:2'] }));
  t.not(baseKey('sha256:1'), baseKey('sha256:2'));
});
