import test from 'ava';
import { PlainRenderer, RawJsonRenderer } from './renderers.js';
import type { VertexEvent } from './events.js';

const b = { build: 'b1' };
const events: VertexEvent[] = [
  { ...b, type: 'cached', vertex: 1, time: 1000, name: '[stage-0 1/3] FROM busybox', stage: 'stage-0' },
  { ...b, type: 'start', vertex: 2, time: 1000, name: '[stage-0 2/3] RUN make', stage: 'stage-0', explain: ['build arg FOO changed'] },
  { ...b, type: 'log', vertex: 2, time: 1250, stream: 'stdout', data: 'compiling\nlinking' },
  { ...b, type: 'log', vertex: 2, time: 1300, stream: 'stdout', data: ' done\n' },
  { ...b, type: 'complete', vertex: 2, time: 1300, durationMs: 300 },
];

test('plain output looks like BuildKit plain progress, with --explain reasons', (t) => {
  let out = '';
  const r = new PlainRenderer({ write: (s) => (out += s), explain: true });
  for (const e of events) r.onEvent(e);
  t.is(
    out,
    [
      '#1 [stage-0 1/3] FROM busybox',
      '#1 CACHED',
      '#2 [stage-0 2/3] RUN make',
      '#2 cache miss: build arg FOO changed',
      '#2 0.3 compiling',
      '#2 0.3 linking done',
      '#2 DONE 0.3s',
      '',
    ].join('\n'),
  );
});

test('rawjson writes one event per line, explanations included', (t) => {
  let out = '';
  const r = new RawJsonRenderer({ write: (s) => (out += s), explain: false });
  for (const e of events) r.onEvent(e);
  const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l) as VertexEvent);
  t.is(lines.length, events.length);
  t.deepEqual(lines[1], events[1]);
});
