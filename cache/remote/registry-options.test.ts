import test from 'ava';
import type { BuildCache } from './build-cache.js';
import { exportCaches } from './export.js';
import { loadCacheImports } from './import.js';

/** Records the registries asked for, then stops before anything is reached. */
function recordingOptions(): { asked: string[]; optionsFor: (registry: string) => never } {
  const asked: string[] = [];
  return {
    asked,
    optionsFor: (registry) => {
      asked.push(registry);
      throw new Error('stop');
    },
  };
}

test('a registry --cache-from is read with the options of its own registry', async (t) => {
  const { asked, optionsFor } = recordingOptions();
  await t.throwsAsync(loadCacheImports([{ type: 'registry', ref: 'cache.example:5000/kiln/cache:1' }], optionsFor), { message: 'stop' });
  t.deepEqual(asked, ['cache.example:5000']);
});

test('a registry --cache-to is written with the options of its own registry; a bare name is on docker.io', async (t) => {
  const { asked, optionsFor } = recordingOptions();
  // The location is opened before the cache is looked at, so no cache is needed to get this far.
  const cache = {} as BuildCache;
  const image = { layers: [], cacheMounts: [] };
  const spec = { type: 'registry', ref: 'kiln/cache:1', mode: 'min', mounts: false, ignoreError: true } as const;
  const { warnings } = await exportCaches(cache, image, [{ type: 'inline' }, spec], optionsFor);
  t.deepEqual(asked, ['docker.io']);
  t.is(warnings.length, 1);
});
