import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { asNoSpaceError } from '../common/errors.js';
import { DigestStream } from '../oci/index.js';
import { BULK_WRITE_BUFFER } from '../common/bulk-write.js';

export interface TempFileResult {
  digest: string;
  size: number;
}

/**
 * Streams `source` into a new file at `path`, hashing as it goes, and fsyncs it before closing
 * (`flush`). On any failure the partial file is removed, so callers only see complete, durable files.
 */
export async function writeTempFile(source: Readable, path: string): Promise<TempFileResult> {
  const counter = new DigestStream();
  try {
    await pipeline(source, counter, createWriteStream(path, { flags: 'wx', mode: 0o644, flush: true, highWaterMark: BULK_WRITE_BUFFER }));
  } catch (e) {
    await rm(path, { force: true });
    // A stream's write error names no path; the directory is what the user must free.
    throw asNoSpaceError(e, dirname(path)) ?? e;
  }
  return { digest: counter.digest, size: counter.size };
}
