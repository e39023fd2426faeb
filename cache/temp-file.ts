import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDurableFile, discardPartialFile } from '../common/durable-file.js';
import { DigestStream } from '../oci/index.js';

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
  await writeDurableStream(path, source, counter);
  return { digest: counter.digest, size: counter.size };
}

/** Streams `source` (through `stages`) into a new file at `path`, fsynced; on any failure the partial file is removed. */
export async function writeDurableStream(path: string, source: Readable, ...stages: Transform[]): Promise<void> {
  try {
    await pipeline([source, ...stages, createDurableFile(path)]);
  } catch (e) {
    throw await discardPartialFile(path, e);
  }
}
