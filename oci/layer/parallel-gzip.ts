import { Transform, type TransformCallback } from 'node:stream';
import { zlib } from '../../common/builtins.js';

/** Input is cut into blocks of this size, each deflated on its own thread-pool trip. */
const BLOCK = 1024 * 1024;
/** Each block is primed with the input just before it, deflate's whole window. */
const WINDOW = 32 * 1024;
/** Blocks being deflated at once; more only adds memory on machines with few cores. */
const IN_FLIGHT = 4;

/** gzip member header: deflate, no name or mtime (so nothing but the bytes decides the blob), OS unix. */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

/** The deflate settings of every block; the last one is finished, the others sync-flushed. */
function blockOptions(level: number, last: boolean, dictionary: Buffer | undefined) {
  return {
    level,
    memLevel: 9,
    // zlib takes a thread-pool trip per output chunk: 16 KiB by default, ~20 trips for a block of
    // text; a whole block's worth would leave most of each chunk as garbage.
    chunkSize: BLOCK / 4,
    finishFlush: last ? zlib().constants.Z_FINISH : zlib().constants.Z_SYNC_FLUSH,
    ...(dictionary && dictionary.length > 0 ? { dictionary } : {}),
  };
}

function trailer(crc: number, length: number): Buffer {
  const t = Buffer.alloc(8);
  t.writeUInt32LE(crc >>> 0, 0);
  t.writeUInt32LE(length % 2 ** 32, 4);
  return t;
}

/**
 * What ParallelGzip makes of `input`, deflated at once on this thread: for input no bigger than
 * one block, which fits in memory anyway and is done sooner than a thread-pool trip comes back.
 */
export function gzipBlockSync(input: Buffer, level: number): Buffer {
  if (input.length > BLOCK) throw new RangeError(`gzipBlockSync takes at most ${BLOCK} bytes, not ${input.length}`);
  return Buffer.concat([HEADER, zlib().deflateRawSync(input, blockOptions(level, true, undefined)), trailer(zlib().crc32(input), input.length)]);
}

/**
 * gzip the way pigz does it: the input in fixed blocks, each deflated independently (primed with
 * the previous 32 KiB, so the ratio stays that of one stream) and ended with a sync flush, the
 * raw outputs concatenated into one ordinary gzip member. zlib's one-shot calls run in libuv's
 * thread pool, so several blocks compress at once. Block boundaries depend only on the input's
 * length, never on how it arrives or on the core count: the same bytes give the same blob.
 */
export class ParallelGzip extends Transform {
  /**
   * The block being filled. Input is copied in rather than referenced: a producer may reuse its
   * buffer once its write is done, while a block is deflated long after that.
   */
  private block: Buffer = Buffer.allocUnsafe(BLOCK);
  private filled = 0;
  private previousTail: Buffer | undefined;
  private readonly jobs: { block: Buffer; out: Promise<Buffer> }[] = [];
  /**
   * Blocks whose deflate is done, to fill again: without them every MiB of input was a new 1 MiB
   * ArrayBuffer, garbage only the next GC took back (a 100 MiB layer of small files peaked at
   * ~175 MB RSS).
   */
  private readonly spare: Buffer[] = [];
  private crc = 0;
  private length = 0;
  private started = false;

  constructor(private readonly level: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.crc = zlib().crc32(chunk, this.crc);
    this.length += chunk.length;
    for (let at = 0; at < chunk.length; ) {
      // A full block starts only once more input follows it: the last block has to be known as the last.
      if (this.filled === BLOCK) this.startBlock(false);
      const n = Math.min(BLOCK - this.filled, chunk.length - at);
      chunk.copy(this.block, this.filled, at, at + n);
      this.filled += n;
      at += n;
    }
    this.emitDone(IN_FLIGHT - 1).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.startBlock(true);
    this.emitDone(0).then(() => {
      this.push(trailer(this.crc, this.length));
      callback();
    }, callback);
  }

  /** Pushes finished blocks in order until at most `keep` are still being deflated. */
  private async emitDone(keep: number): Promise<void> {
    while (this.jobs.length > keep) {
      const job = this.jobs.shift()!;
      const out = await job.out;
      // The newest block's tail is still to prime the next block's deflate, which reads it when it starts.
      if (this.jobs.length > 0) this.spare.push(job.block);
      if (!this.started) {
        this.started = true;
        this.push(HEADER);
      }
      this.push(out);
    }
  }

  /** Hands the filled block to a deflate job (which owns it until emitDone has its output) and starts filling another. */
  private startBlock(last: boolean): void {
    const whole = this.block;
    const block = whole.subarray(0, this.filled);
    this.block = this.spare.pop() ?? Buffer.allocUnsafe(BLOCK);
    this.filled = 0;
    const dictionary = this.previousTail;
    // Every block but the last is BLOCK long, so the next one's window is this one's end.
    this.previousTail = block.subarray(Math.max(0, block.length - WINDOW));
    const options = blockOptions(this.level, last, dictionary);
    const done = new Promise<Buffer>((resolve, reject) => zlib().deflateRaw(block, options, (err, out) => (err ? reject(err) : resolve(out))));
    // A failure is taken when the job is awaited in order; until then it must not count as unhandled.
    done.catch(() => undefined);
    this.jobs.push({ block: whole, out: done });
  }
}
