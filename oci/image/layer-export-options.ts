import { KilnError } from '../../common/errors.js';
import type { LayerExport } from './convert.js';
import { layerCompressionNamed } from './media-types.js';

/** A compression option kiln cannot honour; `where` names the flag the user wrote. */
export class CompressionOptionError extends KilnError {
  constructor(where: string, message: string, hint: string) {
    super('E_COMPRESSION_OPTION', `${where}: ${message}`, { hint });
  }
}

/** The keys, as `--output` and docker buildx spell them. */
export const LAYER_EXPORT_KEYS = ['compression', 'compression-level', 'force-compression'] as const;

/**
 * `compression=gzip|zstd|uncompressed`, `compression-level=N`, `force-compression=true|false`
 * (from `--output`, `kiln push`'s flags, or the daemon's query and JSON, which carry the same
 * strings); undefined when none is given.
 */
export function parseLayerExport(fields: ReadonlyMap<string, string>, where: string): LayerExport | undefined {
  const name = fields.get('compression');
  const level = fields.get('compression-level');
  const forced = fields.get('force-compression');
  if (name === undefined && level === undefined && forced === undefined) return undefined;
  const forceValue = forced === undefined ? false : parseBool(forced);
  if (forceValue === undefined) throw new CompressionOptionError(where, `force-compression=${forced} is not true or false`, 'use force-compression=true or force-compression=false');
  const force = forceValue ? { force: true } : {};
  const compression = name === undefined ? 'gzip' : layerCompressionNamed(name);
  if (compression === undefined) throw new CompressionOptionError(where, `unknown compression "${name}"`, 'use compression=gzip, zstd or uncompressed');
  if (level === undefined) return { compression, ...force };
  const range = compression === 'gzip' ? [0, 9] : compression === 'zstd' ? [0, 22] : undefined;
  if (!range) throw new CompressionOptionError(where, 'compression-level needs compression=gzip or zstd', 'drop compression-level, or choose gzip or zstd');
  const n = /^\d+$/.test(level) ? Number(level) : NaN;
  if (!(n >= range[0]! && n <= range[1]!)) throw new CompressionOptionError(where, `compression-level=${level} is not a ${compression} level`, `${compression} levels are ${range[0]} to ${range[1]}`);
  // zstd's level 0 is its default, as in buildx.
  return compression === 'zstd' && n === 0 ? { compression, ...force } : { compression, level: n, ...force };
}

/** Go's strconv.ParseBool, which BuildKit reads these options with. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** The option strings parseLayerExport reads back into `layers`. */
export function layerExportFields(layers: LayerExport): Record<string, string> {
  return {
    compression: layers.compression === 'none' ? 'uncompressed' : layers.compression,
    ...(layers.level !== undefined ? { 'compression-level': String(layers.level) } : {}),
    ...(layers.force ? { 'force-compression': 'true' } : {}),
  };
}

/** The layer export options among a query's or a JSON object's string fields. */
export function layerExportOf(fields: Iterable<[string, unknown]>, where: string): LayerExport | undefined {
  const keys: readonly string[] = LAYER_EXPORT_KEYS;
  return parseLayerExport(new Map([...fields].filter((e): e is [string, string] => keys.includes(e[0]) && typeof e[1] === 'string')), where);
}
