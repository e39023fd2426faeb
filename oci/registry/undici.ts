import type * as Undici from 'undici';

/**
 * undici, loaded on first use (loading it costs ~0.4 s, which commands that reach no registry
 * should not pay). Taken through `default` (its module.exports) when there is one: in the esbuild
 * bundle a dynamic import of this CommonJS package has no named exports.
 */
export async function loadUndici(): Promise<typeof Undici> {
  const m = await import('undici');
  return (m as unknown as { default?: typeof Undici }).default ?? m;
}
