import { Transform, type TransformCallback } from 'node:stream';
import { LayerError } from './errors.js';

/**
 * Bounds on what one layer or archive may expand to, against decompression bombs. The defaults
 * are far above any real image (the largest public layers are a few tens of GiB and a few hundred
 * thousand files); each can be changed with its environment variable (a plain number).
 */
export interface ExtractLimits {
  /** Uncompressed tar bytes (`KILN_EXTRACT_MAX_BYTES`, default 64 GiB). */
  maxBytes: number;
  /** Tar entries (`KILN_EXTRACT_MAX_ENTRIES`, default 5,000,000). */
  maxEntries: number;
  /**
   * Uncompressed bytes per compressed byte, checked once `ratioAfterBytes` have come out
   * (`KILN_EXTRACT_MAX_RATIO`, default 10,000; 0 turns it off). gzip cannot pass ~1,030:1, so
   * this only stops zstd, bzip2 and xz streams that are almost nothing but repetition.
   */
  maxRatio: number;
  ratioAfterBytes: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxBytes: 64 * 1024 ** 3,
  maxEntries: 5_000_000,
  maxRatio: 10_000,
  ratioAfterBytes: 1024 ** 3,
};

const ENV: Partial<Record<keyof ExtractLimits, string>> = {
  maxBytes: 'KILN_EXTRACT_MAX_BYTES',
  maxEntries: 'KILN_EXTRACT_MAX_ENTRIES',
  maxRatio: 'KILN_EXTRACT_MAX_RATIO',
};

/** The defaults, overridden by the environment variables that are set. */
export function extractLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): ExtractLimits {
  const limits = { ...DEFAULT_EXTRACT_LIMITS };
  for (const [key, name] of Object.entries(ENV) as [keyof ExtractLimits, string][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (!/^\d+$/.test(raw.trim())) {
      throw new LayerError('E_LAYER_LIMIT_CONFIG', `invalid ${name} "${raw}"`, { hint: `set ${name} to a whole number` });
    }
    limits[key] = Number(raw);
  }
  return limits;
}

const LIMIT_CODES = new Set(['E_LAYER_TOO_LARGE', 'E_LAYER_TOO_MANY_ENTRIES', 'E_LAYER_RATIO']);

/** Whether `err` is one of the limit errors below (whose hint says which variable raises the limit). */
export function isExtractLimitError(err: unknown): err is LayerError {
  return err instanceof LayerError && LIMIT_CODES.has(err.code);
}

function limitHint(variable: string): string {
  return `if the content is trusted, raise the limit with the environment variable ${variable}`;
}

/**
 * Passes the uncompressed tar through, failing as soon as it outgrows `maxBytes` or the ratio
 * guard, so a bomb stops after at most one chunk over the limit instead of filling the disk.
 * `compressedBytes` reports how much of the compressed input has been read so far.
 */
export class ExpansionGuard extends Transform {
  private bytes = 0;

  constructor(
    private readonly limits: ExtractLimits,
    private readonly compressedBytes: () => number,
    private readonly what: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const { maxBytes, maxRatio, ratioAfterBytes } = this.limits;
    if (this.bytes > maxBytes) {
      callback(
        new LayerError('E_LAYER_TOO_LARGE', `${this.what} expands to more than ${maxBytes} bytes, the limit for one layer or archive`, {
          hint: limitHint('KILN_EXTRACT_MAX_BYTES'),
        }),
      );
      return;
    }
    const compressed = this.compressedBytes();
    if (maxRatio > 0 && this.bytes > ratioAfterBytes && compressed > 0 && this.bytes / compressed > maxRatio) {
      callback(
        new LayerError('E_LAYER_RATIO', `${this.what} expands more than ${maxRatio} times (${compressed} compressed bytes gave ${this.bytes} so far): it looks like a decompression bomb`, {
          hint: limitHint('KILN_EXTRACT_MAX_RATIO'),
        }),
      );
      return;
    }
    callback(null, chunk);
  }
}

/** Counts tar entries against `maxEntries`. */
export function entryCounter(limits: ExtractLimits, what: string): () => void {
  let entries = 0;
  return () => {
    if (++entries > limits.maxEntries) {
      throw new LayerError('E_LAYER_TOO_MANY_ENTRIES', `${what} has more than ${limits.maxEntries} entries, the limit for one layer or archive`, {
        hint: limitHint('KILN_EXTRACT_MAX_ENTRIES'),
      });
    }
  };
}
