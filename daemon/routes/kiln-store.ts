/**
 * kiln's own store routes (`/kiln/v1/`) for what Docker's API lacks: prune with kiln's counts and
 * policies, disk usage, the state-root check, and exports of an image as an OCI or docker archive
 * or its root filesystem (`kiln --host build -o`). See docs/api.md.
 */
import { diskUsage, prune, type PruneResult } from '../../cache/index.js';
import { layerExportOf, normalizeReference } from '../../oci/index.js';
import { writeImageTar } from '../../solver/index.js';
import type { DaemonContext } from '../context.js';
import { badRequest, queryBool, readJson, sendJson } from '../http.js';
import { ARCHIVE_MANIFEST_HEADER, type Handler } from '../router.js';
import { verifyStateRoot } from '../state-check.js';
import { ContextCache } from './context-cache.js';

/** Uploaded context contents a prune without `all` keeps: those used within this long. */
const CONTEXT_UNUSED_MS = 24 * 3_600_000;

export interface PrunePolicy {
  /** Every build cache record, cache mounts, the stat cache and every uploaded context file. */
  all?: boolean;
  /** Bytes of blobs and snapshots to keep, least recently used going first. */
  keepStorage?: number;
  /** Only what was not used for this many milliseconds. */
  olderThanMs?: number;
}

/** The store's prune, then the uploaded context contents (all with `all`, else those unused for a day or `olderThanMs`). */
export async function pruneDaemon(ctx: DaemonContext, policy: PrunePolicy): Promise<PruneResult & { contextBytes: number }> {
  const r = await ctx.store.withLock('prune', () => prune(ctx.store, policy));
  const contextBytes = await new ContextCache(ctx.root).prune(policy.all ? 0 : (policy.olderThanMs ?? CONTEXT_UNUSED_MS));
  return { ...r, freedBytes: r.freedBytes + contextBytes, contextBytes };
}

const wholeNumber = (v: unknown, name: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw badRequest(`${name} must be a whole number`);
  return v;
};

export const pruneStore: Handler = async (ctx, { req, res }) => {
  const body = await readJson<{ all?: unknown; keepStorage?: unknown; olderThanMs?: unknown }>(req);
  const keepStorage = wholeNumber(body.keepStorage, 'keepStorage');
  const olderThanMs = wholeNumber(body.olderThanMs, 'olderThanMs');
  const r = await pruneDaemon(ctx, { all: body.all === true, ...(keepStorage !== undefined ? { keepStorage } : {}), ...(olderThanMs !== undefined ? { olderThanMs } : {}) });
  ctx.log.log('info', 'pruned', { freed: r.freedBytes, records: r.removedRecords });
  sendJson(res, 200, r);
};

export const usage: Handler = async (ctx, { res }) => {
  sendJson(res, 200, await diskUsage(ctx.store));
};

export const check: Handler = async (ctx, { res, query }) => {
  sendJson(res, 200, await verifyStateRoot(ctx.root, queryBool(query, 'repair')));
};

const EXPORT_TYPES = new Set(['oci', 'docker', 'tar']);

/** `type=oci|docker` archives (named after each `name` given) or `type=tar`, the flattened root filesystem. */
export const exportImage: Handler = async (ctx, { res, params, query }) => {
  const type = query.get('type') ?? '';
  if (!EXPORT_TYPES.has(type)) throw badRequest(`unknown export type "${type}": use oci, docker or tar`);
  const names = query.getAll('name').filter(Boolean).map(normalizeReference);
  const layers = layerExportOf(query, 'export');
  if (layers && type !== 'oci') throw badRequest(`compression applies to type=oci only, not type=${type}`);
  const img = await ctx.store.resolveImage(params.name!);
  // Sent with the archive's first bytes, by then with the header naming an OCI archive's manifest.
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/x-tar');
  await writeImageTar(ctx.store, img, type as 'oci' | 'docker' | 'tar', res, names, layers, (m) => res.setHeader(ARCHIVE_MANIFEST_HEADER, `${m.manifestMediaType} ${m.manifestDigest}`));
};
