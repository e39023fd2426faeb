/** Images: list, inspect, history, tag, remove, pull, import, push, save and load. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { describeImage, historyRows, unixSeconds, type ResolvedImage } from '../../cache/index.js';
import { KilnError } from '../../common/errors.js';
import {
  BLOB_CHANNEL,
  familiarName,
  importRootfs,
  layerCompressionNamed,
  layerExportOf,
  loadArchive,
  normalizeReference,
  parseReference,
  pullImage,
  pushImage,
  saveImages,
  sniffCompression,
  spoolArchive,
  type BlobProgressEvent,
} from '../../oci/index.js';
import type { DaemonContext } from '../context.js';
import { badRequest, byteLimit, conflict, queryBool, sendJson } from '../http.js';
import { JsonStream } from '../json-stream.js';
import { registryOptions } from '../registry-auth.js';
import type { Handler } from '../router.js';

/** Largest archive `POST /images/load` accepts (spooled to disk, never held in memory). */
const LOAD_LIMIT = 64 * 2 ** 30;

export const list: Handler = async (ctx, { res }) => {
  const byManifest = new Map<string, { Id: string; RepoTags: string[]; Created: number; Size: number }>();
  for (const img of await ctx.store.listImages()) {
    let row = byManifest.get(img.manifestDigest);
    if (!row) {
      row = { Id: img.configDigest, RepoTags: [], Created: unixSeconds(img.created), Size: img.size };
      byManifest.set(img.manifestDigest, row);
    }
    if (img.name !== undefined) row.RepoTags.push(familiarName(img.name));
  }
  sendJson(
    res,
    200,
    [...byManifest.values()].map((r) => ({ ...r, ParentId: '', RepoDigests: [], SharedSize: -1, VirtualSize: r.Size, Labels: {}, Containers: -1 })),
  );
};

export const inspect: Handler = async (ctx, { res, params }) => {
  sendJson(res, 200, await describeImage(ctx.store, await ctx.store.resolveImage(params.name!)));
};

export const history: Handler = async (ctx, { res, params }) => {
  sendJson(res, 200, historyRows(ctx.store, await ctx.store.resolveImage(params.name!)));
};

export const tag: Handler = async (ctx, { res, params, query }) => {
  const repo = query.get('repo');
  if (!repo) throw badRequest('repo is required');
  const img = await ctx.store.resolveImage(params.name!);
  const target = query.get('tag') ? `${repo}:${query.get('tag')}` : repo;
  await ctx.store.tagImage(target, img.indexDigest ?? img.manifestDigest);
  res.writeHead(201);
  res.end();
};

function isName(ref: string, img: ResolvedImage): boolean {
  try {
    return img.name !== undefined && img.name === normalizeReference(ref);
  } catch {
    return false;
  }
}

/** As `docker rmi`: a name is untagged; an id removes every name, refused when several exist unless forced. */
export const remove: Handler = async (ctx, { res, params, query }) => {
  const ref = params.name!;
  const force = queryBool(query, 'force');
  const img = await ctx.store.resolveImage(ref);
  const top = img.indexDigest ?? img.manifestDigest;
  const out: Record<string, string>[] = [];
  const users = ctx.containers.list(true).filter((c) => c.imageId === img.configDigest);
  if (isName(ref, img)) {
    const lastName = ctx.store.imageNames(top).length === 1;
    if (lastName && users.length > 0 && !force) throw conflict(`unable to remove ${ref}: container ${users[0]!.id.slice(0, 12)} is using its referenced image ${img.configDigest.slice(7, 19)}`);
    const { removedImage } = ctx.store.untag(img.name!);
    out.push({ Untagged: familiarName(img.name!) });
    if (removedImage) out.push({ Deleted: img.configDigest });
  } else {
    const names = ctx.store.imageNames(top);
    if (names.length > 1 && !force) throw conflict(`unable to delete ${ref} (must be forced) - image is referenced in multiple repositories`);
    if (users.length > 0 && !force) throw conflict(`unable to delete ${ref} (must be forced) - image is being used by container ${users[0]!.id.slice(0, 12)}`);
    ctx.store.removeImage(top);
    for (const n of names) out.push({ Untagged: familiarName(n) });
    out.push({ Deleted: img.configDigest });
  }
  await ctx.store.gc();
  sendJson(res, 200, out);
};

/** Forwards registry blob progress for one repository as Docker's per-layer status lines. */
function blobProgress(out: JsonStream, registry: string, repository: string): () => void {
  const verbs: Record<BlobProgressEvent['state'], string> = {
    start: 'Downloading',
    progress: 'Downloading',
    resume: 'Downloading',
    done: 'Download complete',
    exists: 'Already exists',
    mounted: 'Mounted from another repository',
  };
  const listener = (message: unknown) => {
    const e = message as BlobProgressEvent;
    if (e.registry !== registry || e.repository !== repository) return;
    const id = e.digest.slice(7, 19);
    let verb = verbs[e.state];
    if (e.direction === 'push') verb = e.state === 'done' ? 'Pushed' : e.state === 'exists' ? 'Layer already exists' : e.state === 'mounted' ? verb : 'Pushing';
    out.status(verb, id, e.state === 'progress' ? { current: e.transferred, total: e.size } : undefined);
  };
  subscribe(BLOB_CHANNEL, listener);
  return () => unsubscribe(BLOB_CHANNEL, listener);
}

/** Runs `fn` with the response as a JSON message stream; a failure becomes its last message (and a bug is logged). */
async function streamed(ctx: DaemonContext, res: ServerResponse, fn: (out: JsonStream) => Promise<void>): Promise<void> {
  const out = new JsonStream(res);
  try {
    await fn(out);
  } catch (err) {
    if (!(err instanceof KilnError)) ctx.log.log('error', 'request failed', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    out.error(err);
  }
  out.end();
}

export const pull: Handler = async (ctx, { req, res, query }) => {
  if (query.get('fromSrc')) return importImage(ctx, req, res, query);
  const from = query.get('fromImage');
  if (!from) throw badRequest('fromImage is required');
  const tagOrDigest = query.get('tag');
  const wanted = tagOrDigest ? `${from}${tagOrDigest.startsWith('sha256:') ? '@' : ':'}${tagOrDigest}` : from;
  const ref = parseReference(wanted);
  const options = await registryOptions(ctx.root, req);
  await streamed(ctx, res, async (out) => {
    out.status(`Pulling from ${ref.repository}`, ref.tag ?? ref.digest);
    const stop = blobProgress(out, ref.registry, ref.repository);
    try {
      const r = await ctx.work.run(() => pullImage(ctx.store, ref, { ...options, ...(query.get('platform') ? { platform: query.get('platform')! } : {}) }));
      out.status(`Digest: ${r.manifestDigest}`);
      out.status(`Status: ${r.downloaded > 0 ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(r.name)}`);
      // For kiln's client, which prints what an embedded pull prints; the docker CLI ignores aux here.
      out.aux({ Name: r.name, Digest: r.manifestDigest, Downloaded: r.downloaded });
    } finally {
      stop();
    }
  });
};

/** `docker import`: the rootfs tar is the body (`fromSrc=-`); kiln adds `compression` and `source` (the history comment's file name). */
async function importImage(ctx: DaemonContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  if (query.get('fromSrc') !== '-') throw badRequest('kiln imports only a tarball sent as the request body (fromSrc=-), not from a URL');
  const compression = layerCompressionNamed(query.get('compression') || 'gzip');
  if (!compression) throw badRequest(`unknown compression "${query.get('compression')}": use gzip, zstd or uncompressed`);
  const repo = query.get('repo');
  const name = repo ? (query.get('tag') ? `${repo}:${query.get('tag')}` : repo) : undefined;
  if (name !== undefined) parseReference(name);
  const img = await importRootfs(ctx.store, req.pipe(byteLimit(LOAD_LIMIT)), { compression, changes: query.getAll('changes'), source: query.get('source') || '-' });
  if (name !== undefined) await ctx.store.tagImage(name, img.manifestDigest);
  else await ctx.store.registerImage(img.manifestDigest);
  const out = new JsonStream(res);
  out.status(img.configDigest);
  out.end();
}

/** `docker push NAME:TAG`; kiln's `from` pushes another local image under that name without tagging it here. */
export const push: Handler = async (ctx, { req, res, params, query }) => {
  const name = query.get('tag') ? `${params.name}:${query.get('tag')}` : params.name!;
  const ref = parseReference(name);
  const source = query.get('from') || name;
  const layers = layerExportOf(query, 'push');
  const options = { ...(await registryOptions(ctx.root, req)), ...(layers ? { layers } : {}) };
  await streamed(ctx, res, async (out) => {
    out.status(`The push refers to repository [${familiarName(name).replace(/[:@][^/]*$/, '')}]`);
    const stop = blobProgress(out, ref.registry, ref.repository);
    try {
      const r = await ctx.work.run(() => pushImage(ctx.store, source, name, options));
      const tagName = ref.tag ?? 'latest';
      out.status(`${tagName}: digest: ${r.manifestDigest} size: ${r.manifestSize}`);
      out.aux({ Tag: tagName, Digest: r.manifestDigest, Size: r.manifestSize, Reference: r.reference, Blobs: r.blobs });
    } finally {
      stop();
    }
  });
};

/** docker-archive, as `docker save`; kiln's `format=oci` gives an OCI image layout tarball. */
export const save: Handler = async (ctx, { res, params, query }) => {
  const names = params.name ? [params.name] : query.getAll('names');
  if (names.length === 0) throw badRequest('names is required');
  const format = query.get('format') || 'docker';
  if (format !== 'docker' && format !== 'oci') throw badRequest(`unknown format "${format}": use docker or oci`);
  const images: ResolvedImage[] = [];
  for (const n of names) images.push(await ctx.store.resolveImage(n));
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await saveImages(ctx.store, images, format, res);
};

// `quiet` only silences progress bars in Docker, and kiln shows none: the Loaded lines always go out.
export const load: Handler = async (ctx, { req, res }) => {
  // The loader reads the archive twice, so the body is spooled to a file in the state root first.
  const spool = await mkdtemp(join(ctx.root, 'tmp', `${process.pid}.load-`));
  try {
    const file = join(spool, 'archive.tar');
    const { compression, stream } = await sniffCompression(req);
    await spoolArchive(stream, compression, file, byteLimit(LOAD_LIMIT));
    await streamed(ctx, res, async (out) => {
      for (const img of await loadArchive(ctx.store, file)) {
        if (img.names.length === 0) {
          await ctx.store.registerImage(img.manifestDigest);
          const r = await ctx.store.resolveImage(img.manifestDigest);
          out.stream(`Loaded image ID: ${r.configDigest}\n`);
        }
        for (const name of img.names) {
          await ctx.store.tagImage(name, img.manifestDigest);
          out.stream(`Loaded image: ${familiarName(name)}\n`);
        }
      }
    });
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
};
