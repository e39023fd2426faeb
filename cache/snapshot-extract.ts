import { mkdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { applyLayer } from '../oci/index.js';
import { DigestMismatchError } from './errors.js';

/** Extracts a layer blob into a new directory in overlay-lower form, checking its diffID. */
export async function extractLayer(blob: Readable, dir: string, expectedDiffID: string): Promise<void> {
  await mkdir(dir, { mode: 0o755 });
  const { diffID } = await applyLayer(blob, dir, { whiteouts: 'overlay' });
  if (diffID !== expectedDiffID) throw new DigestMismatchError('extracted layer (diffID)', expectedDiffID, diffID);
}
