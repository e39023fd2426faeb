import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';

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

  constructor(
    readonly path: string,
    private readonly onData: (data: string) => void,
  ) {
    super();
    mkdirSync(dirname(path), { recursive: true });
    this.file = createWriteStream(path);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const text = chunk.toString('utf8');
    this.onData(text);
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    this.lines.push(...parts);
    if (this.lines.length > TAIL_LINES * 4) this.lines = this.lines.slice(-TAIL_LINES);
    this.file.write(chunk, cb);
  }

  /** The last 20 lines written. */
  tail(): string[] {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-TAIL_LINES);
  }

  /** Flushes and closes the log file. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve, reject) => this.file.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return this.closing;
  }
}
