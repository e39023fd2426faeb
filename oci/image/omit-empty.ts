import type { ContainerConfig, HealthConfig, HistoryEntry, ImageConfig } from './types.js';

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === '' || v === false || v === 0 || (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.keys(v as object).length === 0);

function dropEmpty<T extends object>(o: T, keys: readonly (keyof T)[]): T {
  const out = { ...o };
  for (const k of keys) if (isEmpty(out[k])) delete out[k];
  return out;
}

const CONTAINER_KEYS = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'OnBuild', 'Shell'] as const;
const CONTAINER_ORDER = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell'];
const HEALTH_KEYS = ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const;
const HISTORY_KEYS = ['created', 'created_by', 'author', 'comment', 'empty_layer'] as const;

function sortedKeys<V>(m: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Keys in the order Go marshals them: `first` in struct order, then the rest as they were. */
function ordered<T extends object>(o: T, first: readonly string[]): T {
  const rec = o as Record<string, unknown>;
  const keys = [...first.filter((k) => k in rec), ...Object.keys(rec).filter((k) => !first.includes(k))];
  return Object.fromEntries(keys.map((k) => [k, rec[k]])) as T;
}

/**
 * The image config as BuildKit's Go types serialise it: every `omitempty` field that is null,
 * empty or zero is left out (`"Cmd": null` after ENTRYPOINT, `"OnBuild": null`, an empty
 * history), map keys are sorted, the container config's fields come in struct order and the
 * top-level ones sorted (BuildKit's exporter re-marshals the config as a map), so the JSON
 * written equals BuildKit's field for field.
 */
export function omitEmptyConfig(config: ImageConfig): ImageConfig {
  let out = dropEmpty(config, ['created', 'author', 'os.version', 'variant', 'history']);
  if (out.config) {
    const c: ContainerConfig = dropEmpty(out.config, CONTAINER_KEYS);
    // Go maps marshal with their keys sorted.
    if (c.ExposedPorts) c.ExposedPorts = sortedKeys(c.ExposedPorts);
    if (c.Volumes) c.Volumes = sortedKeys(c.Volumes);
    if (c.Labels) c.Labels = sortedKeys(c.Labels);
    // A pointer in Go: only a missing one is left out (an all-zero check is `{}`).
    if (c.Healthcheck) c.Healthcheck = dropEmpty<HealthConfig>(c.Healthcheck, HEALTH_KEYS);
    else delete c.Healthcheck;
    out.config = ordered(c, CONTAINER_ORDER);
  }
  if (out.history) out.history = out.history.map((h: HistoryEntry) => ordered(dropEmpty(h, HISTORY_KEYS), HISTORY_KEYS));
  out = ordered(out, Object.keys(out).sort());
  return out;
}
