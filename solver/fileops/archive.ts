import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { applyLayer, createDecompressor, isExtractLimitError, LayerError } from '../../oci/index.js';
import { FileOpError } from './errors.js';
import { zlib } from '../../common/builtins.js';

export type ArchiveCompression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

const MAGICS: [ArchiveCompression, number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

/** Compressions Node has no decoder for are decoded by their standard tools, one process per archive. */
const TOOLS: Partial<Record<ArchiveCompression, string>> = { bzip2: 'bzip2', xz: 'xz' };

/** The archive's bytes decompressed, as a stream. */
function decompressed(path: string, compression: ArchiveCompression): Readable {
  const tool = TOOLS[compression];
  if (tool) {
    const child = spawn(tool, ['-dc', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = new PassThrough();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.pipe(out, { end: false });
    child.on('error', (e) => out.destroy(e));
    child.on('close', (code) => {
      if (code === 0 || out.destroyed) out.end();
      else out.destroy(new Error(`${tool} failed: ${stderr.trim() || `exit ${code}`}`));
    });
    out.on('close', () => child.kill());
    return out;
  }
  const file = createReadStream(path);
  if (compression === 'none') return file;
  const decoder = compression === 'gzip' ? zlib().createGunzip() : createDecompressor('zstd');
  const out = new PassThrough();
  pipeline(file, decoder, out).catch((e: unknown) => out.destroy(e as Error));
  return out;
}

/**
 * When `path` is a tar archive (plain, gzip, bzip2, xz or zstd) its compression, else undefined.
 * As docker does, a compressed file only counts when what it decompresses to starts with a valid
 * tar header; anything else is copied as a plain file.
 */
export async function detectArchive(path: string): Promise<ArchiveCompression | undefined> {
  const head = Buffer.alloc(8);
  const fh = await open(path, 'r');
  let n: number;
  try {
    ({ bytesRead: n } = await fh.read(head, 0, head.length, 0));
  } finally {
    await fh.close();
  }
  const compression = MAGICS.find(([, m]) => n >= m.length && m.every((b, i) => head[i] === b))?.[0] ?? 'none';
  const block = await firstBytes(decompressed(path, compression), 512);
  return block && isTarHeader(block) ? compression : undefined;
}

async function firstBytes(stream: Readable, count: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let have = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      have += (chunk as Buffer).length;
      if (have >= count) break;
    }
  } catch {
    return undefined;
  } finally {
    stream.destroy();
  }
  return have >= count ? Buffer.concat(chunks).subarray(0, count) : undefined;
}

/** A tar header block: its checksum field matches the sum of its bytes (checksum read as spaces). */
function isTarHeader(block: Buffer): boolean {
  const field = block.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum === parseInt(field, 8);
}

/** Extracts an archive into `dir` with the layer engine's path-safe extraction. */
export async function extractArchive(path: string, compression: ArchiveCompression, dir: string, shownName: string): Promise<void> {
  try {
    await applyLayer(decompressed(path, compression), dir, { whiteouts: 'apply', what: 'the archive' });
  } catch (e) {
    const reason = e instanceof LayerError ? e.message : (e as Error).message;
    throw new FileOpError('E_ADD_ARCHIVE', `ADD ${shownName}: cannot extract archive: ${reason}`, {
      cause: e,
      hint: isExtractLimitError(e) ? `${e.hint}; or use COPY to add it unextracted` : 'the archive is damaged or unsafe (entries escaping the destination); use COPY to add it unextracted',
    });
  }
}
