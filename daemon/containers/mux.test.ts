import test from 'ava';
import fc from 'fast-check';
import { frame, FrameReader, type StreamType } from './mux.js';

test('a frame is an 8-byte header (stream, 0, 0, 0, big-endian length) and the payload', (t) => {
  t.deepEqual([...frame(2, Buffer.from('hi'))], [2, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]);
});

test('FrameReader gets the frames back however the bytes are split', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom<StreamType>(1, 2), fc.uint8Array({ maxLength: 40 }))),
      fc.array(fc.nat(60), { maxLength: 10 }),
      (frames, cuts) => {
        const bytes = Buffer.concat(frames.map(([s, p]) => frame(s, Buffer.from(p))));
        const reader = new FrameReader();
        const got: [StreamType, number[]][] = [];
        let at = 0;
        for (const cut of [...cuts, bytes.length]) {
          const end = Math.min(bytes.length, at + cut);
          for (const f of reader.push(bytes.subarray(at, end))) got.push([f.stream, [...f.payload]]);
          at = end;
        }
        for (const f of reader.push(bytes.subarray(at))) got.push([f.stream, [...f.payload]]);
        t.deepEqual(got, frames.map(([s, p]) => [s, [...p]] as [StreamType, number[]]));
      },
    ),
  );
});
