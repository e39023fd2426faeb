import type { CacheMountUse, Store } from '../cache/index.js';
import type { ImageConfig, RegistryOptionsFor } from '../oci/index.js';
import type { ExtraHost, NetworkMode, SecretSource } from '../runtime/index.js';
import type { BuildContext } from './context/index.js';
import type { ArgValue, BuildPlan } from './frontend/index.js';
import type { ChainLayer, LayerCommits } from './layers.js';
import { publish, type VertexEvent } from './progress/index.js';
import type { Scheduler } from './scheduler.js';

/**
 * What a stage (or a base image) gives the next: config, layers, and the key of its last layer.
 * Its layers may still be committing: a `COPY --from` or a child stage needs only their dirs,
 * and waiting for their blobs (gzip, fsync) held up every step that read the stage. The
 * config's rootfs is filled in when the image is written.
 */
export interface StageResult {
  config: ImageConfig;
  layers: ChainLayer[];
  key: string;
  /**
   * The ARGs the stage declared (with those it inherited), in order: a stage built `FROM` this
   * one starts with them, as BuildKit's dispatch state carries its build args into the child.
   */
  args?: ArgValue[];
  /** How many of the config's last history entries wait for the time of a later stage's first layer (ImageState.pendingHistory). */
  pendingHistory?: number;
}

/** `--build-context NAME=...`: a directory or an image standing in for a stage or image name. */
export type NamedContext = { kind: 'dir'; path: string } | { kind: 'image'; ref: string };

/** Everything one build shares across its stages. */
export interface BuildSession {
  id: string;
  stateRoot: string;
  store: Store;
  plan: BuildPlan;
  scheduler: Scheduler;
  /** Layer commits and snapshot releases running off the steps' critical path. */
  commits: LayerCommits;
  buildArgs: ReadonlyMap<string, string>;
  noCache: boolean;
  noCacheFilter: ReadonlySet<string>;
  pull: boolean;
  /** Registry options for pulling base images, by registry host; undefined: the docker config's credentials. */
  pullOptions: RegistryOptionsFor | undefined;
  network: NetworkMode;
  /** RUN containers' host name: BUILDKIT_SANDBOX_HOSTNAME, else BuildKit's default. */
  hostname: string;
  /** `--add-host` lines for RUN containers' /etc/hosts. */
  extraHosts: readonly ExtraHost[];
  secrets: ReadonlyMap<string, SecretSource>;
  allowInsecure: boolean;
  namedContexts: ReadonlyMap<string, NamedContext>;
  /** The build context; undefined when the Dockerfile came from stdin with no context. */
  context: BuildContext | undefined;
  /** Identifies context + Dockerfile for cache-miss explanations. */
  identity: string;
  /** SOURCE_DATE_EPOCH as RFC 3339: every history entry and the config get this time. */
  created: string | undefined;
  /** SOURCE_DATE_EPOCH in seconds: directories COPY, ADD and WORKDIR make, and heredoc files, get this time. */
  epoch: number | undefined;
  logDir: string;
  /** Which step produced a key, for "parent step #3 changed". */
  keyLabels: Map<string, string>;
  stageResult(index: number): Promise<StageResult>;
  nextVertex(): number;
  emit(event: DistributiveOmit<VertexEvent, 'build' | 'time'>): void;
  stats: { ran: number; cached: number };
  /** Cache keys reused from the store: marked as used after the build, so LRU eviction keeps them. */
  hits: string[];
  /** `RUN --mount=type=cache` mounts the build's steps use, by id (exported with `--cache-to ...,mounts=true`). */
  cacheMounts: Map<string, CacheMountUse>;
  /** Called as a RUN step is about to run: gets the runtime ready for the containers to come. */
  runsContainers(): void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function emitter(build: string): BuildSession['emit'] {
  return (event) => publish({ ...event, build, time: Date.now() } as VertexEvent);
}
