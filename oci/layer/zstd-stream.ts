import { createRequire } from 'node:module';
import { Transform, type TransformCallback } from 'node:stream';
import type * as Binding from 'zstd-napi/binding.js';

type ZstdBinding = typeof Binding;

const require = createRequire(import.meta.url);
let loaded: ZstdBinding | undefined;

/**
 * The native zstd binding, loaded on first use: most kiln commands (and `kiln --version`) never
 * compress with zstd and should not pay for loading a native module at start-up.
 */
export function zstdBinding(): ZstdBinding {
  loaded ??= require('zstd-napi/binding.js') as ZstdBinding;
  return loaded;
}

export interface ZstdStreamOptions {
  level: number;
  /** zstd worker threads (ZSTD_c_nbWorkers), at least 1: output depends on this being >= 1, not on the count. */
  workers: number;
  /** Bytes per multi-threaded job (ZSTD_c_jobSize); part of the output format, so fixed by the caller. */
  jobSize: number;
}

/**
 * ZSTD_c_blockSplitterLevel (experimental parameter 20 of zstd 1.5.7): 1 turns off the block
 * pre-splitter 1.5.7 added. At level 3 it costs 2-6x the CPU on layer tars for a ratio change
 * under 0.01%, and without it the output is what zstd <= 1.5.6 (the CLI most systems ship) makes.
 * Experimental ids may move between zstd releases, so it is only set on the 1.5 line.
 */
const BLOCK_SPLITTER_LEVEL = 1017;

function presplitterKnown(versionNumber: number): boolean {
  return versionNumber >= 10507 && versionNumber < 10600;
}

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
  private readonly zstd = zstdBinding();
  private readonly cctx: Binding.CCtx;
  private readonly outSize: number;
  private out: Buffer;

  constructor(options: ZstdStreamOptions) {
    super({ highWaterMark: 4 * 1024 * 1024 });
    const { CParameter } = this.zstd;
    this.cctx = new this.zstd.CCtx();
    this.cctx.setParameter(CParameter.compressionLevel, options.level);
    this.cctx.setParameter(CParameter.nbWorkers, Math.max(1, options.workers));
    this.cctx.setParameter(CParameter.jobSize, options.jobSize);
    if (presplitterKnown(this.zstd.versionNumber())) this.cctx.setParameter(BLOCK_SPLITTER_LEVEL as Binding.CParameter, 1);
    this.outSize = this.zstd.cStreamOutSize();
    this.out = Buffer.allocUnsafe(this.outSize);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.feed(chunk, this.zstd.EndDirective.continue, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.feed(Buffer.alloc(0), this.zstd.EndDirective.end, callback);
  }

  private feed(input: Buffer, end: Binding.EndDirective, callback: TransformCallback): void {
    try {
      for (;;) {
        const [remaining, produced, consumed] = this.cctx.compressStream2(this.out, input, end);
        if (produced > 0) {
          this.push(this.out.subarray(0, produced));
          this.out = Buffer.allocUnsafe(this.outSize);
        }
        input = input.subarray(consumed);
        const finished = input.length === 0 && (end === this.zstd.EndDirective.continue || remaining === 0);
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

/** zstd-napi's streaming decompressor, its module loaded on first use like the binding. */
export function createZstdDecompressStream(): Transform {
  const { DecompressStream } = require('zstd-napi') as typeof import('zstd-napi');
  return new DecompressStream();
}
