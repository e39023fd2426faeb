import test from 'ava';
import { Readable, Writable } from 'node:stream';
import { TarOut } from './tar-out.js';

/** An output that takes `okBytes`, then fails every write, as a full disk or a closed pipe does. */
function failingOutput(okBytes: number, error: Error): Writable {
  let taken = 0;
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      taken += chunk.length;
      cb(taken > okBytes ? error : null);
    },
  });
}

test('a failing output fails the entry being written, and every later one, with its own error', async (t) => {
  const broken = Object.assign(new Error('EPIPE: broken pipe, write'), { code: 'EPIPE' });
  const tar = new TarOut(failingOutput(1024, broken));
  await tar.dir('blobs/');
  const body = Readable.from((function* () {
    for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024, i);
  })());
  const err = await t.throwsAsync(tar.stream('blobs/big', 64 * 16 * 1024, body));
  t.is(err, broken);
  t.true(body.destroyed, 'the source is not left open');
  t.is(await t.throwsAsync(tar.file('index.json', '{}')), broken);
  t.is(await t.throwsAsync(tar.finish()), broken);
});

test('an output that failed before anything was written fails the next entry and finish', async (t) => {
  const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
  const out = new Writable({ write: (_c, _e, cb) => cb() });
  const tar = new TarOut(out);
  out.destroy(denied);
  await new Promise((r) => setImmediate(r));
  t.is(await t.throwsAsync(tar.file('oci-layout', '{}')), denied);
  t.is(await t.throwsAsync(tar.finish()), denied);
});

test('a source that fails fails its entry and the archive', async (t) => {
  const chunks: Buffer[] = [];
  const tar = new TarOut(new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }));
  const bad = new Error('blob read failed');
  const body = new Readable({ read() {} });
  body.push(Buffer.alloc(100));
  setImmediate(() => body.destroy(bad));
  t.is(await t.throwsAsync(tar.stream('blobs/x', 1000, body)), bad);
  tar.abort(bad);
  await t.throwsAsync(tar.finish());
});
