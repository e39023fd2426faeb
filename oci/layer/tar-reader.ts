import { LayerError } from './errors.js';
import { BLOCK, checkMetaSize, decodeHeaderBlock, decodePax, isZeroBlock, paddingFor, resolveHeader, type TarHeader } from './tar-format.js';

export interface TarEntry {
  header: TarHeader;
  /** The entry's data; whatever the consumer does not read is skipped before the next entry. */
  body: AsyncIterable<Buffer>;
}

/** Pull-based byte reader over an async iterable of chunks, so tar parsing follows backpressure. */
class ByteSource {
  private buf: Buffer = Buffer.alloc(0);
  /** Body bytes of the current entry not yet handed out. */
  pending = 0;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(): Promise<boolean> {
    const r = await this.it.next();
    if (r.done) return false;
    this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    return true;
  }

  /** Exactly `n` bytes, or null at a clean end of input. */
  async exact(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (!(await this.fill())) {
        if (this.buf.length === 0) return null;
        throw truncated();
      }
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async *body(): AsyncGenerator<Buffer> {
    while (this.pending > 0) {
      if (this.buf.length === 0 && !(await this.fill())) throw truncated();
      const chunk = this.buf.subarray(0, Math.min(this.pending, this.buf.length));
      this.buf = this.buf.subarray(chunk.length);
      this.pending -= chunk.length;
      yield chunk;
    }
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      if (this.buf.length === 0 && !(await this.fill())) throw truncated();
      const k = Math.min(n, this.buf.length);
      this.buf = this.buf.subarray(k);
      n -= k;
    }
  }

  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0);
    while (await this.fill()) this.buf = Buffer.alloc(0);
  }
}

function truncated(): LayerError {
  return new LayerError('E_LAYER_CORRUPT', 'layer tar is truncated', { hint: 'the layer blob is incomplete; re-pull or rebuild it' });
}

/**
 * The entries of a tar stream, one at a time. PAX (local and global) and GNU long-name records
 * are folded into the following entry. After the end-of-archive marker the rest of the input
 * is read and discarded, so a digest computed upstream covers the whole stream.
 */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const src = new ByteSource(source[Symbol.asyncIterator]());
  let globalPax = new Map<string, Buffer>();
  let pax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;

  const readMeta = async (size: number): Promise<Buffer> => {
    checkMetaSize(size);
    const data = await src.exact(size + paddingFor(size));
    if (data === null) throw truncated();
    return data.subarray(0, size);
  };
  const cString = (data: Buffer): string => {
    const end = data.indexOf(0);
    return data.subarray(0, end === -1 ? data.length : end).toString('utf8');
  };

  for (;;) {
    const block = await src.exact(BLOCK);
    if (block === null || isZeroBlock(block)) break;
    const raw = decodeHeaderBlock(block);
    switch (raw.typeflag) {
      case 'x':
        pax = decodePax(await readMeta(raw.size));
        continue;
      case 'g':
        globalPax = new Map([...globalPax, ...decodePax(await readMeta(raw.size))]);
        continue;
      case 'L':
        longName = cString(await readMeta(raw.size));
        continue;
      case 'K':
        longLink = cString(await readMeta(raw.size));
        continue;
    }
    const header = resolveHeader(raw, new Map([...globalPax, ...pax]), longName, longLink);
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    src.pending = header.size;
    yield { header, body: src.body() };
    await src.skip(src.pending + paddingFor(header.size));
    src.pending = 0;
  }
  await src.drain();
}
