import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { createCompressor, createDecompressor, DigestStream } from '../layer/index.js';
import { normalizeReference } from '../reference.js';
import type { ContentStore } from './content.js';
import { isDigest } from './digest.js';
import { KilnError } from '../../common/errors.js';
import { fileError } from '../../common/file-errors.js';
import { ArchiveError } from './errors.js';
import { buildManifest } from './manifest.js';
import { isIndexMediaType, MediaType, ociLayerMediaType } from './media-types.js';
import { selectManifest } from './platform.js';
import { hashingSink, sniffCompression } from './stream-util.js';
import { notTarError } from './tar-check.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from './types.js';

/** An image found in an archive, now in the store. */
export interface LoadedImage {
  /** Fully qualified names the archive gives it (none for an unnamed image). */
  names: string[];
  /** Manifest (or index) digest. */
  manifestDigest: string;
}

const METADATA = new Set(['index.json', 'oci-layout', 'manifest.json', 'repositories']);
const METADATA_MAX = 16 << 20;

/** An archive file, and how to call it in messages (the path the user gave, or `stdin` for a spooled copy). */
interface Source {
  path: string;
  name: string;
}

/**
 * Loads an OCI image layout tarball or a docker-archive (from kiln, docker or skopeo) into the
 * store. Reads the file twice: first its small metadata files, then the blobs, so entry order
 * does not matter and nothing large is held in memory. Errors call the file `name`.
 */
export async function loadArchive(store: ContentStore, file: string, name = file): Promise<LoadedImage[]> {
  const src: Source = { path: file, name };
  const meta = new Map<string, Buffer>();
  await eachEntry(src, async (name, entry) => {
    if (!METADATA.has(name)) return void entry.resume();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of entry) {
      size += (c as Buffer).length;
      if (size > METADATA_MAX) throw new ArchiveError(`${src.name}: ${name} is larger than ${METADATA_MAX} bytes`);
      chunks.push(c as Buffer);
    }
    meta.set(name, Buffer.concat(chunks));
  });
  if (meta.has('oci-layout') && meta.has('index.json')) return loadOci(store, src, json<ImageIndex>(src, 'index.json', meta));
  if (meta.has('manifest.json')) return loadDocker(store, src, json<DockerManifestEntry[]>(src, 'manifest.json', meta));
  throw new ArchiveError(`${src.name} is neither an OCI image layout (oci-layout, index.json) nor a docker-archive (manifest.json)`, {
    hint: 'make archives with `kiln save`, `docker save` or `skopeo copy ... oci-archive:FILE`',
  });
}

function json<T>(src: Source, name: string, meta: Map<string, Buffer>): T {
  try {
    return JSON.parse(meta.get(name)!.toString('utf8')) as T;
  } catch (e) {
    throw new ArchiveError(`${src.name}: ${name} is not valid JSON`, { cause: e });
  }
}

async function eachEntry(src: Source, fn: (name: string, entry: Readable, header: tar.Header) => Promise<void>): Promise<void> {
  const input = createReadStream(src.path);
  const extract = tar.extract();
  // Which side failed decides the message: the file (missing, a directory), the tar (truncated,
  // not a tar), or neither (the store, kiln's own checks), whose errors pass as they are.
  let inputError: unknown;
  let tarError: unknown;
  input.on('error', (e: NodeJS.ErrnoException) => {
    // Not the premature close a failed consumer causes: that one's own error is what to report.
    if (e.syscall !== undefined) inputError ??= e;
  });
  extract.on('error', (e: unknown) => (tarError ??= e));
  const reading = pipeline(input, extract);
  const consuming = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
      if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') await fn(name, entry as unknown as Readable, entry.header);
      else entry.resume();
    }
  })();
  try {
    await Promise.all([reading, consuming]);
  } catch (e) {
    extract.destroy();
    if (inputError !== undefined) throw fileError(inputError, 'read', src.name);
    if (tarError !== undefined && !(tarError instanceof KilnError)) throw notTarError(src.name, tarError, await firstBytes(src.path));
    throw e;
  }
}

async function firstBytes(path: string): Promise<Buffer> {
  const fh = await open(path);
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function loadOci(store: ContentStore, src: Source, index: ImageIndex): Promise<LoadedImage[]> {
  await eachEntry(src, async (name, entry, header) => {
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
    if (!m) return void entry.resume();
    const opts: { expectedDigest: string; expectedSize?: number } = { expectedDigest: `sha256:${m[1]}` };
    if (header.size !== undefined) opts.expectedSize = header.size;
    await store.writeBlob(entry, opts);
  });
  const out: LoadedImage[] = [];
  for (const desc of index.manifests ?? []) {
    await checkImage(store, src, desc);
    const names: string[] = [];
    const full = desc.annotations?.['io.containerd.image.name'];
    const ref = desc.annotations?.['org.opencontainers.image.ref.name'];
    if (full) names.push(normalizeReference(full));
    // A bare tag ("latest") names no repository; only a full reference can become an image name.
    else if (ref && /[:/@]/.test(ref)) names.push(normalizeReference(ref));
    out.push({ names, manifestDigest: desc.digest });
  }
  return out;
}

/** Every blob the host platform's image needs must have come with the archive (or be in the store). */
async function checkImage(store: ContentStore, src: Source, desc: Descriptor): Promise<void> {
  const need = async (d: string, what: string) => {
    if (!isDigest(d) || !(await store.hasBlob(d))) {
      throw new ArchiveError(`${src.name} is incomplete: ${what} ${d} is missing`, { hint: 'the archive was truncated or written by a broken tool; save it again' });
    }
  };
  await need(desc.digest, 'manifest');
  let manifestDigest = desc.digest;
  if (isIndexMediaType(desc.mediaType)) {
    const picked = selectManifest(await store.readJson<ImageIndex>(desc.digest));
    if (!picked) return;
    await need(picked.digest, 'manifest');
    manifestDigest = picked.digest;
  }
  const manifest = await store.readJson<ImageManifest>(manifestDigest);
  await need(manifest.config.digest, 'config');
  for (const l of manifest.layers) await need(l.digest, 'layer');
}

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

interface LoadedLayer extends Descriptor {
  diffID: string;
}

async function loadDocker(store: ContentStore, src: Source, entries: DockerManifestEntry[]): Promise<LoadedImage[]> {
  if (!Array.isArray(entries)) throw new ArchiveError(`${src.name}: manifest.json is not a list of images`);
  const configPaths = new Set(entries.map((e) => e.Config));
  const layerPaths = new Set(entries.flatMap((e) => e.Layers));
  const configs = new Map<string, string>();
  const layers = new Map<string, LoadedLayer>();
  await eachEntry(src, async (name, entry) => {
    if (configPaths.has(name)) configs.set(name, (await store.writeBlob(entry, { mediaType: MediaType.ociConfig })).digest);
    else if (layerPaths.has(name) && !layers.has(name)) layers.set(name, await storeDockerLayer(store, entry));
    else entry.resume();
  });
  const out: LoadedImage[] = [];
  for (const e of entries) {
    const configDigest = configs.get(e.Config);
    if (!configDigest) throw new ArchiveError(`${src.name} is incomplete: config ${e.Config} is missing`);
    const config = await store.readJson<ImageConfig>(configDigest);
    const imgLayers = e.Layers.map((p) => {
      const l = layers.get(p);
      if (!l) throw new ArchiveError(`${src.name} is incomplete: layer ${p} is missing`);
      return l;
    });
    const diffIDs = config.rootfs?.diff_ids ?? [];
    if (diffIDs.length !== imgLayers.length || imgLayers.some((l, i) => l.diffID !== diffIDs[i])) {
      throw new ArchiveError(`${src.name}: the layers of ${e.Config} do not match its rootfs.diff_ids`, { hint: 'the archive is damaged; save it again' });
    }
    const size = await store.blobSize(configDigest);
    const manifest = buildManifest({ mediaType: MediaType.ociConfig, digest: configDigest, size }, imgLayers);
    const m = await store.writeBlobBuffer(JSON.stringify(manifest), { mediaType: MediaType.ociManifest });
    out.push({ names: (e.RepoTags ?? []).map((t) => normalizeReference(t)), manifestDigest: m.digest });
  }
  return out;
}

/**
 * Stores a docker-archive layer as a compressed blob: plain tars (what docker writes) are
 * gzipped on the way in; already compressed ones are kept as they are. The diffID is computed
 * while streaming either way.
 */
async function storeDockerLayer(store: ContentStore, entry: Readable): Promise<LoadedLayer> {
  const { compression, stream } = await sniffCompression(entry);
  if (compression === 'none') {
    const diff = new DigestStream();
    const out = new PassThrough();
    const mediaType = ociLayerMediaType('gzip');
    const [, blob] = await Promise.all([pipeline(stream, diff, createCompressor('gzip'), out), store.writeBlob(out, { mediaType })]);
    return { mediaType, ...blob, diffID: diff.digest };
  }
  const toBlob = new PassThrough();
  const toDiff = new PassThrough();
  stream.on('error', (e) => {
    toBlob.destroy(e);
    toDiff.destroy(e);
  });
  stream.pipe(toBlob);
  stream.pipe(toDiff);
  const sink = hashingSink();
  const mediaType = ociLayerMediaType(compression);
  const [blob] = await Promise.all([store.writeBlob(toBlob, { mediaType }), pipeline(toDiff, createDecompressor(compression), sink)]);
  return { mediaType, ...blob, diffID: sink.result().digest };
}
