/**
 * A build run by the daemon: list the context by digest, send only the contents the daemon lacks,
 * then feed the daemon's vertex events to the caller's renderer and rebuild its errors as the
 * same KilnErrors an embedded build throws.
 */
import { createInterface } from 'node:readline';
import { KilnError } from '../common/errors.js';
import type { Store } from '../cache/index.js';
import type { VertexEvent } from '../solver/index.js';
import type { ErrorDetail, RemoteBuildOptions } from '../daemon/index.js';
import type { DaemonClient } from './connection.js';
import { contentTar, listContext, type ContextList } from './context-list.js';
import { rebuildError } from './errors.js';
import { registryConfigHeader } from './registry-auth.js';

/** What the daemon's build takes besides the context: the daemon's own wire type. */
export type RemoteBuildSettings = RemoteBuildOptions;

export interface RemoteBuildRequest {
  /** The context directory, or undefined for a build without one. */
  contextDir: string | undefined;
  dockerfile: string;
  dockerfileName: string;
  dockerfilePath?: string;
  settings: RemoteBuildSettings;
  /** `--build-context NAME=DIR`: uploaded digest-first like the main context. */
  contextDirs: Map<string, string>;
  /** `--secret` values, sent for this build only. */
  secrets: Map<string, Buffer>;
  /** Registries the build pushes to or caches with: the client's credentials for them go along. */
  registries: string[];
  /** Local store whose stat cache spares re-reading unchanged context files. */
  store: Store;
  onEvent(event: VertexEvent): void;
  /** A line the build prints besides progress (`pushed ...`, `exported cache to ...`). */
  onMessage(line: string): void;
  onWarning(warning: string): void;
}

export interface RemoteBuildResult {
  configDigest: string;
  manifestDigest: string;
  manifestMediaType: string;
  /** The manifest the daemon pushed, when it pushed (its layers compressed; see `kiln build`'s metadata). */
  pushed?: { manifestDigest: string; manifestMediaType: string };
  tags: string[];
  stats: { ran: number; cached: number };
  /** The Dockerfile's check warnings, described; older daemons send none. */
  checks?: string[];
  /** Context contents sent this time: files and bytes (unchanged ones are never sent). */
  sent: { files: number; bytes: number };
}

export async function remoteBuild(client: DaemonClient, r: RemoteBuildRequest): Promise<RemoteBuildResult> {
  const list: ContextList = r.contextDir === undefined ? { entries: [], sources: new Map() } : await listContext(r.contextDir, r.store, r.dockerfilePath);
  const contexts: Record<string, Omit<ContextList, 'sources'>> = {};
  for (const [name, dir] of r.contextDirs) {
    const named = await listContext(dir, r.store);
    contexts[name] = { entries: named.entries, ...(named.root ? { root: named.root } : {}) };
    for (const [digest, source] of named.sources) if (!list.sources.has(digest)) list.sources.set(digest, source);
  }
  const check = await client.json<{ session: string; missing: string[] }>(
    'POST',
    '/kiln/v1/build/context/check',
    {
      entries: list.entries,
      root: list.root,
      dockerfile: r.dockerfile,
      dockerfileName: r.dockerfileName,
      options: r.settings,
      contexts,
      secrets: [...r.secrets].map(([id, value]) => ({ id, value: value.toString('base64') })),
    },
    await registryConfigHeader(r.registries),
  );
  const res = await client.request('POST', `/kiln/v1/build?session=${encodeURIComponent(check.session)}`, contentTar(list, check.missing), { 'Content-Type': 'application/x-tar' });
  let sent = { files: 0, bytes: 0 };
  let result: Omit<RemoteBuildResult, 'sent'> | undefined;
  let failure: ErrorDetail | undefined;
  for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const msg = JSON.parse(line) as { context?: typeof sent; event?: VertexEvent; message?: string; warning?: string; result?: typeof result; error?: ErrorDetail };
    if (msg.context) sent = msg.context;
    if (msg.event) r.onEvent(msg.event);
    if (msg.message !== undefined) r.onMessage(msg.message);
    if (msg.warning !== undefined) r.onWarning(msg.warning);
    if (msg.result) result = msg.result;
    if (msg.error) failure = msg.error;
  }
  if (failure) throw rebuildError(failure);
  if (!result) throw new KilnError('E_DAEMON_REQUEST', 'the kiln daemon ended the build without a result', { hint: 'see the daemon\'s log' });
  return { ...result, sent };
}
