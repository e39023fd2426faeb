import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Passes bytes through unchanged while computing their sha256 and length. */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private result: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.result = `sha256:${this.hash.digest('hex')}`;
    callback();
  }

  /** `sha256:<hex>` of everything that passed; only valid once the stream has ended. */
  get digest(): string {
    if (this.result === undefined) throw new Error('DigestStream: digest read before the stream ended');
    return this.result;
  }

  get size(): number {
    return this.bytes;
  }
}
