import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';

const EPOCH = new Date(0);

/**
 * A deterministic tar writer for archives: root-owned entries, mtime 0, fixed modes. Callers add
 * entries in sorted order; file contents stream straight through.
 */
export class TarOut {
  private readonly pack = tar.pack();
  private readonly done: Promise<void>;
  /** Why the output failed, once it has: what every later entry fails with. */
  private failure: unknown;

  constructor(out: Writable) {
    this.done = pipeline(this.pack, out);
    // The failure reaches the caller through the entry it is writing (or finish); without this it
    // would also surface as an unhandled rejection while no one awaits `done`.
    this.done.catch((e: unknown) => {
      this.failure ??= e;
    });
  }

  dir(name: string): Promise<void> {
    return this.entry({ name, type: 'directory', mode: 0o755 });
  }

  file(name: string, data: Buffer | string): Promise<void> {
    const buf = Buffer.from(data);
    return this.entry({ name, type: 'file', mode: 0o644, size: buf.length }, buf);
  }

  stream(name: string, size: number, data: Readable): Promise<void> {
    return this.entry({ name, type: 'file', mode: 0o644, size }, data);
  }

  async finish(): Promise<void> {
    this.pack.finalize();
    await this.done;
  }

  abort(err: Error): void {
    this.pack.destroy(err);
  }

  /**
   * Adds an entry and resolves once the pack has taken all of it. A destroyed pack (its output
   * failed) makes the entry fail with the output's error, not tar-stream's own.
   */
  private entry(h: { name: string; type: 'directory' | 'file'; mode: number; size?: number }, body?: Buffer | Readable): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (e: unknown) => reject(this.failure ?? e);
      let sink: Writable;
      try {
        const header = { ...h, mtime: EPOCH, uid: 0, gid: 0 };
        const done = (err?: Error | null) => (err ? fail(err) : resolve());
        sink = (Buffer.isBuffer(body) ? this.pack.entry(header, body, done) : this.pack.entry(header, done)) as unknown as Writable;
      } catch (e) {
        fail(e);
        if (body && !Buffer.isBuffer(body)) body.destroy();
        return;
      }
      // The entry's callback reports its failure; an 'error' event without a listener would crash kiln.
      sink.on('error', () => undefined);
      if (body && !Buffer.isBuffer(body)) {
        body.on('error', (e) => {
          sink.destroy(e);
          fail(e);
        });
        sink.on('close', () => {
          if (!body.readableEnded) body.destroy();
        });
        body.pipe(sink);
      }
    });
  }
}
