import { createHash } from 'node:crypto';

/**
 * Build cache keys. A key is the sha256 of a canonical JSON document holding a vertex's
 * normalized definition, the keys of its parents and the content digests of its inputs, so two
 * vertices get the same key exactly when running them must give the same result.
 */

/** JSON with object keys sorted at every level, so equal values always serialise the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined) sorted[k] = x;
      }
      return sorted;
    }
    return v;
  });
}

export interface VertexKeyInput {
  /** The vertex type, e.g. `run`, `copy`, `image`. Part of the key so different ops never collide. */
  op: string;
  /** Everything about the vertex that changes its result, without secret values. */
  definition: unknown;
  /** Keys of the vertices it builds on, in a fixed order. */
  parents: readonly string[];
  /** Content digests of its inputs (context files, a base image's manifest). */
  inputs?: readonly string[];
}

export function vertexKey(input: VertexKeyInput): string {
  const doc = canonicalJson({ v: 1, op: input.op, def: input.definition, parents: input.parents, inputs: input.inputs ?? [] });
  return `sha256:${createHash('sha256').update(doc).digest('hex')}`;
}

/** A mount as it enters a RUN key: its definition only; a secret's value never does. */
export interface MountKey {
  type: string;
  target?: string;
  source?: string;
  /** Cache key of the stage or image a bind/cache mount reads from, or the context digest. */
  from?: string;
  id?: string;
  readonly?: boolean;
  sharing?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  required?: boolean;
  env?: string;
}

export interface RunKeyInput {
  parent: string;
  argv: readonly string[];
  env: readonly string[];
  user: string;
  workdir: string;
  mounts: readonly MountKey[];
  network: string;
  security: string;
  /** The container's host name when not BuildKit's default (absent, keys stay as they were). */
  hostname?: string;
  /** `--add-host` entries, `host:ip`, when there are any. */
  extraHosts?: readonly string[];
}

/** The key of a RUN step: command, environment, mounts, user, workdir, network, security mode, and host name and extra hosts given. */
export function runKey(r: RunKeyInput): string {
  return vertexKey({
    op: 'run',
    definition: { argv: r.argv, env: r.env, user: r.user, workdir: r.workdir, mounts: r.mounts, network: r.network, security: r.security, ...(r.hostname === undefined ? {} : { hostname: r.hostname }), ...(r.extraHosts === undefined ? {} : { extraHosts: r.extraHosts }) },
    parents: [r.parent],
  });
}

/** The root of a stage's key chain: its base image by content (so a re-tagged name misses) or scratch. */
export function baseKey(manifestDigest: string | undefined): string {
  return vertexKey({ op: 'base', definition: manifestDigest ?? 'scratch', parents: [] });
}
