import type { ContainerConfig, HealthConfig, HistoryEntry, ImageConfig } from './types.js';

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === '' || v === false || v === 0 || (Array.isArray(v) ? v.length === 0 : typeof v === 'object' && Object.keys(v as object).length === 0);

function dropEmpty<T extends object>(o: T, keys: readonly (keyof T)[]): T {
  const out = { ...o };
  for (const k of keys) if (isEmpty(out[k])) delete out[k];
  return out;
}

const CONTAINER_KEYS = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'OnBuild', 'Shell'] as const;
const HEALTH_KEYS = ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const;
const HISTORY_KEYS = ['created', 'created_by', 'author', 'comment', 'empty_layer'] as const;

/**
 * The image config as BuildKit's Go types serialise it: every `omitempty` field that is null,
 * empty or zero is left out (`"Cmd": null` after ENTRYPOINT, `"OnBuild": null`, an empty
 * history), so the JSON written equals BuildKit's field for field.
 */
export function omitEmptyConfig(config: ImageConfig): ImageConfig {
  const out = dropEmpty(config, ['created', 'author', 'os.version', 'variant', 'history']);
  if (out.config) {
    const c: ContainerConfig = dropEmpty(out.config, CONTAINER_KEYS);
    // A pointer in Go: only a missing one is left out (an all-zero check is `{}`).
    if (c.Healthcheck) c.Healthcheck = dropEmpty<HealthConfig>(c.Healthcheck, HEALTH_KEYS);
    else delete c.Healthcheck;
    out.config = c;
  }
  if (out.history) out.history = out.history.map((h: HistoryEntry) => dropEmpty(h, HISTORY_KEYS));
  return out;
}
