/**
 * The registry work of a `kiln --host` build, done on the daemon with the client's credentials
 * (one set per registry, from `X-Registry-Config`): `--cache-from` imports, `type=image,push=true`
 * outputs and `--cache-to` exports. Each reports the lines an embedded build prints.
 */
import { BuildCache, exportCaches, loadCacheImport, parseCacheFrom, parseCacheTo, type CacheExportSpec, type ImportedCache, type Store } from '../../cache/index.js';
import { parseReference } from '../../oci/index.js';
import { exportImage, type BuildResult } from '../../solver/index.js';
import { badRequest } from '../http.js';
import type { RegistryOptionsFor } from '../registry-auth.js';

/** A `type=image` output: names (default: the build's tags), pushed with `push`. */
export interface ImageOutput {
  name?: string;
  push: boolean;
}

const registryOf = (ref: string) => parseReference(ref).registry;

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
  const caches: ImportedCache[] = [];
  try {
    for (const spec of specs.from) {
      if (spec.type !== 'registry') continue;
      const got = await loadCacheImport(spec, optionsFor(registryOf(spec.ref)));
      if ('warning' in got) warn(got.warning);
      else caches.push(got.cache);
    }
  } catch (e) {
    await Promise.all(caches.map((c) => c.location.close()));
    throw e;
  }
  if (specs.to.length === 0 && caches.length === 0) return undefined;
  return new BuildCache(caches, { inline: specs.to.some((c) => c.type === 'inline') });
}

/** Names the image and pushes it, each name to its registry with that registry's credentials. */
export async function exportImageOutputs(store: Store, result: BuildResult, outputs: ImageOutput[], optionsFor: RegistryOptionsFor, say: (line: string) => void): Promise<void> {
  for (const o of outputs) {
    const names = o.name ? [o.name] : result.tags;
    if (!o.push || names.length === 0) {
      // Names the image; a push with no name at all fails here as it does embedded.
      await exportImage(store, result, { type: 'image', ...(o.name ? { name: o.name } : {}), push: o.push });
      continue;
    }
    for (const n of names) {
      for (const p of await exportImage(store, result, { type: 'image', name: n, push: true }, undefined, optionsFor(registryOf(n)))) say(`pushed ${p.reference}@${p.manifestDigest}`);
    }
  }
}

/** Every `--cache-to` but inline, each with its registry's credentials. */
export async function exportBuildCache(cache: BuildCache, result: BuildResult, specs: CacheExportSpec[], optionsFor: RegistryOptionsFor, say: (line: string) => void, warn: (w: string) => void): Promise<void> {
  for (const spec of specs) {
    if (spec.type !== 'registry') continue;
    const { exported, warnings } = await exportCaches(cache, result, [spec], optionsFor(registryOf(spec.ref)));
    for (const r of exported) say(`exported cache to ${r.name}: ${r.records} records${r.mounts ? `, ${r.mounts} cache mounts` : ''} (${r.manifestDigest})`);
    for (const w of warnings) warn(w);
  }
}
