import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { detectCompression, type Compression } from '../layer/index.js';

/** A sink that hashes and counts everything written to it. */
export function hashingSink(): Writable & { result(): { digest: string; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb();
    },
  });
  return Object.assign(w, { result: () => ({ digest: `sha256:${hash.digest('hex')}`, size }) });
}

/** Reads the first `n` bytes of a stream without losing them: returns them and the whole stream. */
export async function peek(src: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    chunks.push(r.value);
    len += r.value.length;
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head, stream: Readable.from(all(), { objectMode: false }) };
}

/** How a stream of a tar starts: gzip, zstd or plain, told from its first bytes, which stay in `stream`. */
export async function sniffCompression(source: Readable): Promise<{ compression: Compression; stream: Readable }> {
  const { head, stream } = await peek(source, 4);
  return { compression: detectCompression(head), stream };
}
