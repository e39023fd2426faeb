import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { asNoSpaceError } from '../common/errors.js';

const TAIL_LINES = 20;

/**
 * A step's output: written in full to a log file (never clipped), its last lines kept for the
 * error message, and each chunk handed to `onData` for progress.
 */
export class StepLog extends Writable {
  private readonly file: WriteStream;
  private lines: string[] = [];
  private partial = '';
  private closing: Promise<void> | undefined;
  /**
   * Why the log file failed (a full disk). The output still reaches the tail and the progress,
   * and close() fails the step with it: an error of this stream would instead go to the
   * container's output pipe, which cannot handle it.
   */
  private failure: unknown;

  constructor(
    readonly path: string,
    private readonly onData: (data: string) => void,
  ) {
    super();
    mkdirSync(dirname(path), { recursive: true });
    this.file = createWriteStream(path);
    this.file.on('error', (e) => this.fail(e));
  }

  private fail(e: Error): void {
    this.failure ??= asNoSpaceError(e, this.path) ?? e;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const text = chunk.toString('utf8');
    this.onData(text);
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    this.lines.push(...parts);
    if (this.lines.length > TAIL_LINES * 4) this.lines = this.lines.slice(-TAIL_LINES);
    if (this.failure !== undefined) return cb();
    this.file.write(chunk, (e) => {
      if (e) this.fail(e);
      cb();
    });
  }

  /** The last 20 lines written. */
  tail(): string[] {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-TAIL_LINES);
  }

  /** Flushes and closes the log file. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve, reject) => this.file.end((err?: Error | null) => (this.failure !== undefined || err ? reject(this.failure ?? err) : resolve())));
    return this.closing;
  }
}
