import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { asNoSpaceError } from '../common/errors.js';

const TAIL_LINES = 20;

/**
 * A step's output: written in full to a log file (never clipped), its last lines kept for the
 * error message, and each chunk handed to `onData` for progress. The file is written with
 * synchronous calls: a chunk of a pipe is written in microseconds, while a file stream's
 * thread-pool trips, its close above all, held up the step's end (~1.2 ms a RUN).
 */
export class StepLog extends Writable {
  private fd: number | undefined;
  private lines: string[] = [];
  private partial = '';
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
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    this.failure ??= asNoSpaceError(e, this.path) ?? e;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const text = chunk.toString('utf8');
    this.onData(text);
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    this.lines.push(...parts);
    if (this.lines.length > TAIL_LINES * 4) this.lines = this.lines.slice(-TAIL_LINES);
    if (this.failure === undefined && this.fd !== undefined) {
      try {
        writeFileSync(this.fd, chunk);
      } catch (e) {
        this.fail(e);
      }
    }
    cb();
  }

  /** The last 20 lines written. */
  tail(): string[] {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-TAIL_LINES);
  }

  /** Closes the log file; rejects with what kept the output from it (a full disk). */
  close(): Promise<void> {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch (e) {
        this.fail(e);
      }
      this.fd = undefined;
    }
    return this.failure === undefined ? Promise.resolve() : Promise.reject(this.failure);
  }
}
