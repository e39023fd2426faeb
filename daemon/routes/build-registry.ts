/**
 * The registry work of a `kiln --host` build, done on the daemon with the client's credentials
 * (one set per registry, from `X-Registry-Config`): `--cache-from` imports, `type=image,push=true`
 * outputs and `--cache-to` exports. Each reports the lines an embedded build prints.
 */
import { BuildCache, exportCaches, loadCacheImports, parseCacheFrom, parseCacheTo, type CacheExportSpec, type Store } from '../../cache/index.js';
import { layerExportOf, type LayerExport, type PushResult, type RegistryOptionsFor } from '../../oci/index.js';
import { exportImage, type BuildResult } from '../../solver/index.js';
import { badRequest } from '../http.js';

/** A `type=image` output: names (default: the build's tags), pushed with `push`. */
export interface ImageOutput {
  name?: string;
  push: boolean;
  /** `compression=` and its companions, the strings of `--output` (see parseLayerExport). */
  layers?: Record<string, string>;
}

/** Parses `--cache-from`/`--cache-to` as the CLI does; a `type=local` cache would be a directory on the client. */
export function cacheSpecs(from: string[] = [], to: string[] = []): { from: ReturnType<typeof parseCacheFrom>[]; to: CacheExportSpec[] } {
  const parsed = { from: from.map(parseCacheFrom), to: to.map(parseCacheTo) };
  if ([...parsed.from, ...parsed.to].some((s) => s.type === 'local')) {
    throw badRequest('a type=local cache is a directory on the client: the daemon cannot use it', { hint: 'use a registry cache (type=registry,ref=...) or type=inline, or build without --host' });
  }
  return parsed;
}

/** Loads every `--cache-from`; a BuildCache when there is anything to import or export. */
export async function openBuildCache(specs: ReturnType<typeof cacheSpecs>, optionsFor: RegistryOptionsFor, warn: (w: string) => void): Promise<BuildCache | undefined> {
  const { caches, warnings } = await loadCacheImports(specs.from, optionsFor);
  for (const w of warnings) warn(w);
  if (specs.to.length === 0 && caches.length === 0) return undefined;
  return new BuildCache(caches, { inline: specs.to.some((c) => c.type === 'inline') });
}

/** An image output's `compression=` options; a value that is not a string is a bad request. */
export function imageOutputLayers(o: ImageOutput): LayerExport | undefined {
  if (o.layers === undefined) return undefined;
  const fields = typeof o.layers === 'object' && o.layers !== null ? Object.entries(o.layers) : [];
  if (fields.length === 0 || fields.some(([, v]) => typeof v !== 'string')) throw badRequest('imageOutputs[].layers must be an object of string options (compression, compression-level, force-compression)');
  return layerExportOf(fields, 'imageOutputs');
}

/** Names the image and pushes it, each name to its registry with that registry's credentials; returns the pushes. */
export async function exportImageOutputs(store: Store, result: BuildResult, outputs: ImageOutput[], optionsFor: RegistryOptionsFor, say: (line: string) => void): Promise<PushResult[]> {
  const pushed: PushResult[] = [];
  for (const o of outputs) {
    // Built field by field: the outputs are the client's JSON, and only these fields of it apply.
    const layers = imageOutputLayers(o);
    const spec = { type: 'image' as const, ...(o.name ? { name: o.name } : {}), ...(layers ? { layers } : {}), push: o.push };
    for (const p of (await exportImage(store, result, spec, [], optionsFor)).pushed) {
      say(`pushed ${p.reference}@${p.manifestDigest}`);
      pushed.push(p);
    }
  }
  return pushed;
}

/** Every `--cache-to` but inline, each with its registry's credentials. */
export async function exportBuildCache(cache: BuildCache, result: BuildResult, specs: CacheExportSpec[], optionsFor: RegistryOptionsFor, say: (line: string) => void, warn: (w: string) => void): Promise<void> {
  const { exported, warnings } = await exportCaches(cache, result, specs, optionsFor);
  for (const r of exported) say(`exported cache to ${r.name}: ${r.records} records${r.mounts ? `, ${r.mounts} cache mounts` : ''} (${r.manifestDigest})`);
  for (const w of warnings) warn(w);
}
