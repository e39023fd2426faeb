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

  constructor(out: Writable) {
    this.done = pipeline(this.pack, out);
  }

  dir(name: string): Promise<void> {
    return this.entry({ name, type: 'directory', mode: 0o755 });
  }

  file(name: string, data: Buffer | string): Promise<void> {
    const buf = Buffer.from(data);
    return new Promise((resolve, reject) => {
      this.pack.entry({ name, type: 'file', mode: 0o644, size: buf.length, mtime: EPOCH, uid: 0, gid: 0 }, buf, (err) => (err ? reject(err) : resolve()));
    });
  }

  stream(name: string, size: number, data: Readable): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = this.pack.entry({ name, type: 'file', mode: 0o644, size, mtime: EPOCH, uid: 0, gid: 0 }, (err) => (err ? reject(err) : resolve()));
      data.on('error', (e) => {
        entry.destroy(e);
        reject(e);
      });
      data.pipe(entry);
    });
  }

  async finish(): Promise<void> {
    this.pack.finalize();
    await this.done;
  }

  abort(err: Error): void {
    this.pack.destroy(err);
  }

  private entry(h: { name: string; type: 'directory'; mode: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pack.entry({ ...h, mtime: EPOCH, uid: 0, gid: 0 }, (err) => (err ? reject(err) : resolve()));
    });
  }
}
