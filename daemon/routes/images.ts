/** Images: list, inspect, history, tag, remove, pull, push, save and load. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ResolvedImage, Store } from '../../cache/index.js';
import {
  BLOB_CHANNEL,
  familiarReference,
  loadArchive,
  normalizeReference,
  parseReference,
  pullImage,
  pushImage,
  saveImages,
  type BlobProgressEvent,
} from '../../oci/index.js';
import { badRequest, byteLimit, conflict, queryBool, sendJson } from '../http.js';
import { JsonStream } from '../json-stream.js';
import { registryOptions } from '../registry-auth.js';
import type { Handler } from '../router.js';

/** Largest archive `POST /images/load` accepts (spooled to disk, never held in memory). */
const LOAD_LIMIT = 64 * 2 ** 30;

const familiar = (name: string) => familiarReference(parseReference(name));
const seconds = (iso: string | undefined) => (iso ? Math.floor(new Date(iso).getTime() / 1000) : 0);

export const list: Handler = async (ctx, { res }) => {
  const byManifest = new Map<string, { Id: string; RepoTags: string[]; Created: number; Size: number }>();
  for (const img of await ctx.store.listImages()) {
    let row = byManifest.get(img.manifestDigest);
    if (!row) {
      row = { Id: img.configDigest, RepoTags: [], Created: seconds(img.created), Size: img.size };
      byManifest.set(img.manifestDigest, row);
    }
    if (img.name !== undefined) row.RepoTags.push(familiar(img.name));
  }
  sendJson(
    res,
    200,
    [...byManifest.values()].map((r) => ({ ...r, ParentId: '', RepoDigests: [], SharedSize: -1, VirtualSize: r.Size, Labels: {}, Containers: -1 })),
  );
};

async function describe(store: Store, img: ResolvedImage): Promise<Record<string, unknown>> {
  const c = img.config;
  const size = img.layers.reduce((n, l) => n + l.size, 0);
  return {
    Id: img.configDigest,
    RepoTags: store.imageNames(img.indexDigest ?? img.manifestDigest).map(familiar),
    RepoDigests: [],
    Parent: '',
    Comment: c.history?.at(-1)?.comment ?? '',
    Created: c.created ?? '',
    DockerVersion: '',
    Author: c.author ?? '',
    Config: { Env: null, Cmd: null, Entrypoint: null, WorkingDir: '', User: '', Labels: null, ...(c.config ?? {}) },
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: size,
    VirtualSize: size,
    GraphDriver: { Name: 'overlay', Data: null },
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

export const inspect: Handler = async (ctx, { res, params }) => {
  sendJson(res, 200, await describe(ctx.store, await ctx.store.resolveImage(params.name!)));
};

export const history: Handler = async (ctx, { res, params }) => {
  const img = await ctx.store.resolveImage(params.name!);
  const entries = img.config.history ?? img.layers.map(() => ({}));
  const tags = ctx.store.imageNames(img.indexDigest ?? img.manifestDigest).map(familiar);
  let layer = img.layers.length - 1;
  const out = [];
  // Newest first; layers pair with the non-empty history entries from the end.
  for (let i = entries.length - 1; i >= 0; i--) {
    const h = entries[i] as { created?: string; created_by?: string; comment?: string; empty_layer?: boolean };
    const size = h.empty_layer ? 0 : (img.layers[layer--]?.size ?? 0);
    const top = i === entries.length - 1;
    out.push({ Id: top ? img.configDigest : '<missing>', Created: seconds(h.created), CreatedBy: h.created_by ?? '', Tags: top ? tags : null, Size: size, Comment: h.comment ?? '' });
  }
  sendJson(res, 200, out);
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
    out.push({ Untagged: familiar(img.name!) });
    if (removedImage) out.push({ Deleted: img.configDigest });
  } else {
    const names = ctx.store.imageNames(top);
    if (names.length > 1 && !force) throw conflict(`unable to delete ${ref} (must be forced) - image is referenced in multiple repositories`);
    if (users.length > 0 && !force) throw conflict(`unable to delete ${ref} (must be forced) - image is being used by container ${users[0]!.id.slice(0, 12)}`);
    ctx.store.removeImage(top);
    for (const n of names) out.push({ Untagged: familiar(n) });
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

async function streamed(res: Parameters<Handler>[1]['res'], fn: (out: JsonStream) => Promise<void>): Promise<void> {
  const out = new JsonStream(res);
  try {
    await fn(out);
  } catch (err) {
    out.error(err);
  }
  out.end();
}

export const pull: Handler = async (ctx, { req, res, query }) => {
  if (query.get('fromSrc')) throw badRequest('kiln does not implement image import (fromSrc) through the API yet');
  const from = query.get('fromImage');
  if (!from) throw badRequest('fromImage is required');
  const tagOrDigest = query.get('tag');
  const wanted = tagOrDigest ? `${from}${tagOrDigest.startsWith('sha256:') ? '@' : ':'}${tagOrDigest}` : from;
  const ref = parseReference(wanted);
  const options = await registryOptions(ctx.root, req);
  await streamed(res, async (out) => {
    out.status(`Pulling from ${ref.repository}`, ref.tag ?? ref.digest);
    const stop = blobProgress(out, ref.registry, ref.repository);
    try {
      const r = await ctx.work.run(() => pullImage(ctx.store, ref, { ...options, ...(query.get('platform') ? { platform: query.get('platform')! } : {}) }));
      out.status(`Digest: ${r.manifestDigest}`);
      out.status(`Status: ${r.downloaded > 0 ? 'Downloaded newer image' : 'Image is up to date'} for ${familiar(r.name)}`);
    } finally {
      stop();
    }
  });
};

export const push: Handler = async (ctx, { req, res, params, query }) => {
  const name = query.get('tag') ? `${params.name}:${query.get('tag')}` : params.name!;
  const ref = parseReference(name);
  const options = await registryOptions(ctx.root, req);
  await streamed(res, async (out) => {
    out.status(`The push refers to repository [${familiar(name).replace(/[:@][^/]*$/, '')}]`);
    const stop = blobProgress(out, ref.registry, ref.repository);
    try {
      const r = await ctx.work.run(() => pushImage(ctx.store, name, undefined, options));
      const tagName = ref.tag ?? 'latest';
      out.status(`${tagName}: digest: ${r.manifestDigest} size: ${r.manifestSize}`);
      out.aux({ Tag: tagName, Digest: r.manifestDigest, Size: r.manifestSize });
    } finally {
      stop();
    }
  });
};

export const save: Handler = async (ctx, { res, params, query }) => {
  const names = params.name ? [params.name] : query.getAll('names');
  if (names.length === 0) throw badRequest('names is required');
  const images: ResolvedImage[] = [];
  for (const n of names) images.push(await ctx.store.resolveImage(n));
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await saveImages(ctx.store, images, 'docker', res);
};

// `quiet` only silences progress bars in Docker, and kiln shows none: the Loaded lines always go out.
export const load: Handler = async (ctx, { req, res }) => {
  // The loader reads the archive twice, so the body is spooled to a file in the state root first.
  const spool = await mkdtemp(join(ctx.root, 'tmp', `${process.pid}.load-`));
  try {
    const file = join(spool, 'archive.tar');
    await pipeline(req, byteLimit(LOAD_LIMIT), createWriteStream(file));
    await streamed(res, async (out) => {
      for (const img of await loadArchive(ctx.store, file)) {
        if (img.names.length === 0) {
          await ctx.store.registerImage(img.manifestDigest);
          const r = await ctx.store.resolveImage(img.manifestDigest);
          out.stream(`Loaded image ID: ${r.configDigest}\n`);
        }
        for (const name of img.names) {
          await ctx.store.tagImage(name, img.manifestDigest);
          out.stream(`Loaded image: ${familiar(name)}\n`);
        }
      }
    });
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
};
