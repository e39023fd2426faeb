import { Transform } from 'node:stream';
import tar from 'tar-stream';
import { detectCompression } from '../layer/index.js';
import { ArchiveError } from './errors.js';

/**
 * The error for input a tar parser rejected (`name` is how the user gave it): a compressed file
 * is told to be decompressed, anything else is called truncated or not a tar.
 */
export function notTarError(name: string, cause: unknown, firstBytes: Buffer): ArchiveError {
  const compression = detectCompression(firstBytes);
  if (compression !== 'none') {
    return new ArchiveError(`${name} is ${compression}-compressed, not a plain tar archive`, { cause, hint: `decompress it first (${compression === 'gzip' ? 'gunzip' : 'zstd -d'})` });
  }
  const why = cause instanceof Error ? cause.message : String(cause);
  return new ArchiveError(`${name} is not a complete tar archive (${why})`, { cause, hint: 'the file is truncated or not a tar archive; make it again' });
}

/**
 * Passes a stream through unchanged while a tar parser reads it too, and fails it (with
 * notTarError) where it stops being one whole tar archive: a rootfs tarball is stored as it is,
 * so this is what keeps a truncated or compressed one from becoming an image.
 */
export function tarCheck(name: string): Transform {
  const extract = tar.extract();
  let head = Buffer.alloc(0);
  let failure: unknown;
  extract.on('entry', (_header, body, next) => {
    body.on('end', next);
    // A truncated entry fails its body too; the extract's own error is the one reported.
    body.on('error', () => undefined);
    body.resume();
  });
  extract.on('error', (e: unknown) => {
    failure ??= notTarError(name, e, head);
  });
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4)]);
      if (failure !== undefined) return cb(failure as Error);
      if (extract.write(chunk)) return cb(null, chunk);
      const onDrain = () => {
        extract.off('error', onError);
        cb(null, chunk);
      };
      const onError = () => {
        extract.off('drain', onDrain);
        cb(failure as Error);
      };
      extract.once('drain', onDrain);
      extract.once('error', onError);
    },
    flush(cb) {
      if (failure !== undefined) return cb(failure as Error);
      extract.once('finish', () => cb());
      extract.once('error', () => cb(failure as Error));
      extract.end(undefined);
    },
    destroy(err, cb) {
      if (err) extract.destroy(err);
      cb(err);
    },
  });
}
