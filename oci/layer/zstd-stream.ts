import { Transform, type TransformCallback } from 'node:stream';
import binding from 'zstd-napi/binding.js';

const OUT_SIZE = binding.cStreamOutSize();
/** How long to let zstd's worker threads catch up before offering input again. */
const BACKOFF_MS = 1;

/**
 * Streaming multi-threaded zstd compression that never busy-waits. In multi-threaded mode
 * ZSTD_compressStream2 returns without progress while all workers are busy, and zstd-napi's
 * CompressStream calls it again at once until the input is taken: on a 2-core machine that
 * spinning steals the core the workers need. Here the retry is scheduled instead, so the
 * event loop meanwhile reads and hashes the next part of the layer.
 */
export class ZstdCompressStream extends Transform {
  private readonly cctx = new binding.CCtx();
  private out = Buffer.allocUnsafe(OUT_SIZE);

  constructor(level: number, workers: number) {
    super({ highWaterMark: 4 * 1024 * 1024 });
    this.cctx.setParameter(binding.CParameter.compressionLevel, level);
    this.cctx.setParameter(binding.CParameter.nbWorkers, workers);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.feed(chunk, binding.EndDirective.continue, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.feed(Buffer.alloc(0), binding.EndDirective.end, callback);
  }

  private feed(input: Buffer, end: binding.EndDirective, callback: TransformCallback): void {
    try {
      for (;;) {
        const [remaining, produced, consumed] = this.cctx.compressStream2(this.out, input, end);
        if (produced > 0) {
          this.push(this.out.subarray(0, produced));
          this.out = Buffer.allocUnsafe(OUT_SIZE);
        }
        input = input.subarray(consumed);
        const finished = input.length === 0 && (end === binding.EndDirective.continue || remaining === 0);
        if (finished) {
          callback();
          return;
        }
        if (produced === 0 && consumed === 0) {
          setTimeout(() => this.feed(input, end, callback), BACKOFF_MS);
          return;
        }
      }
    } catch (err) {
      callback(err as Error);
    }
  }
}
