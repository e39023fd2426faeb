import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface TempFileResult {
  digest: string;
  size: number;
}

/**
 * Streams `source` into a new file at `path`, hashing as it goes, and fsyncs it before closing
 * (`flush`). On any failure the partial file is removed, so callers only see complete, durable files.
 */
export async function writeTempFile(source: Readable, path: string): Promise<TempFileResult> {
  const hash = createHash('sha256');
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(source, counter, createWriteStream(path, { flags: 'wx', mode: 0o644, flush: true }));
  } catch (e) {
    await rm(path, { force: true });
    throw e;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
