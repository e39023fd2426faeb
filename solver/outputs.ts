import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { fileError } from '../common/file-errors.js';
import { checkOutputDir, checkOutputFile, writeOutputFile, writeStdout } from '../common/output-file.js';
import type { Store } from '../cache/index.js';
import { applyLayer, createLayerTar, LAYER_EXPORT_KEYS, parseLayerExport, parseReference, pushImage, saveImages, type ArchivedManifest, type LayerExport, type PushResult, type RegistryOptionsFor } from '../oci/index.js';
import type { BuildResult } from './build.js';
import { BuildError } from './errors.js';
import type { LayerPacking } from './layers.js';

/**
 * `--output type=image|oci|docker|local|tar[,dest=PATH]` and `type=image,name=REF,push=true`
 * (docker buildx's syntax; `type=registry` is type=image,push=true).
 */
export interface OutputSpec {
  type: 'image' | 'oci' | 'docker' | 'local' | 'tar';
  /** File or directory; `-` is stdout for the tarball types. */
  dest?: string;
  /** type=image|oci|docker: names to give the image (default: the `-t` names; an archive's only without them, as buildx). */
  name?: string;
  /** type=image|oci: how layers are compressed (`compression=`, `compression-level=`, `force-compression=`). */
  layers?: LayerExport;
  /** type=image: push it to the registry of each name. */
  push?: boolean;
}

/** What each output type takes besides type=, for the error about an option it does not. */
const TAKES: Record<string, string> = {
  image: 'type=image takes name=, push= and compression=',
  oci: 'type=oci takes dest= and compression=',
  docker: 'type=docker takes dest= only: it writes plain layer tars, as docker save does; use type=oci for compressed layers',
};

const TYPES = new Set(['image', 'registry', 'oci', 'docker', 'local', 'tar']);

export function parseOutputSpec(spec: string): OutputSpec {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) {
      // `-o DIR` is buildx's short form of type=local,dest=DIR.
      if (spec.split(',').length === 1) return part === '-' ? { type: 'tar', dest: '-' } : { type: 'local', dest: part };
      throw new BuildError('E_BUILD_OPTION', `--output: "${part}" is not KEY=VALUE`, { hint: 'e.g. --output type=oci,dest=image.tar' });
    }
    fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const type = fields.get('type') ?? 'local';
  if (!TYPES.has(type)) throw new BuildError('E_BUILD_OPTION', `--output: unknown type "${type}"`, { hint: 'use image, registry, oci, docker, local or tar' });
  const image = type === 'image' || type === 'registry';
  const compressed = image || type === 'oci';
  for (const k of fields.keys()) {
    const allowed: readonly string[] = ['type', 'dest', 'name', ...(image ? ['push'] : []), ...(compressed ? LAYER_EXPORT_KEYS : [])];
    if (allowed.includes(k)) continue;
    throw new BuildError('E_BUILD_OPTION', `--output: unsupported option "${k}" for type ${type}`, { hint: TAKES[image ? 'image' : type] ?? `type=${type} takes dest= only` });
  }
  const push = booleanField(fields, 'push');
  const name = fields.get('name');
  const layers = parseLayerExport(fields, '--output');
  // As buildx's CreateExports: an archive without dest= goes to stdout, except type=docker, which
  // without one is loaded into the image store (buildx's --load), kiln's type=image.
  if (type === 'docker' && !fields.has('dest')) return { type: 'image', ...(name ? { name } : {}), push: false };
  const dest = fields.get('dest') ?? (type === 'oci' || type === 'tar' ? '-' : undefined);
  if (!image && !dest) throw new BuildError('E_BUILD_OPTION', `--output type=${type} needs dest=PATH`, { hint: `e.g. --output type=${type},dest=${type === 'local' ? 'DIR' : 'FILE.tar'}` });
  if (type === 'local' && dest === '-') throw new BuildError('E_BUILD_OPTION', '--output type=local cannot write to stdout: it makes a directory', { hint: 'give dest=DIR, or type=tar,dest=- for a tarball of it on stdout' });
  if (image) return { type: 'image', ...(name ? { name } : {}), ...(layers ? { layers } : {}), push: type === 'registry' || push === true };
  // An archive's name= names the image in it, as BuildKit's oci and docker exporters take it.
  const archiveName = name && (type === 'oci' || type === 'docker') ? { name } : {};
  return { type: type as OutputSpec['type'], ...(dest !== undefined ? { dest } : {}), ...archiveName, ...(layers ? { layers } : {}) };
}

function booleanField(fields: ReadonlyMap<string, string>, key: string): boolean | undefined {
  const v = fields.get(key);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw new BuildError('E_BUILD_OPTION', `--output: ${key}=${v} is not true or false`, { hint: `use ${key}=true or ${key}=false` });
  return v === 'true';
}

/**
 * How a build with these outputs stores its layers: gzip when every output that compresses them
 * (a push, an OCI archive) wants them gzipped at the default level, as the export would then do
 * after the build; plain otherwise, and when the image only stays in the store.
 */
export function layerPackingFor(outputs: readonly OutputSpec[]): LayerPacking {
  const compressing = outputs.filter((o) => (o.type === 'image' && o.push) || o.type === 'oci');
  const gzip = (o: OutputSpec) => (o.layers?.compression ?? 'gzip') === 'gzip' && o.layers?.level === undefined;
  return compressing.length > 0 && compressing.every(gzip) ? 'gzip' : 'plain';
}

/** How a destination is named in errors: the flag and key the user wrote. */
const DEST = '--output dest=';

/**
 * Fails, before anything is built, when an output's destination cannot be written: a directory
 * where an archive goes, a file where a directory goes, a place kiln may not write in.
 */
export async function checkOutputSpec(spec: OutputSpec): Promise<void> {
  if (spec.dest === undefined || spec.dest === '-') return;
  if (spec.type === 'local') await checkOutputDir(spec.dest, DEST);
  else await checkOutputFile(spec.dest, DEST, { createParents: true });
}

/** Writes an archive to `dest` whole or not at all (see writeOutputFile), or to stdout for `-`. */
export function toFile(dest: string, write: (out: Writable) => Promise<void>): Promise<void> {
  return dest === '-' ? writeStdout(write) : writeOutputFile(dest, DEST, write, { createParents: true });
}

/** Makes the directory a type=local output fills; a failure is an error about --output dest=. */
export async function makeOutputDir(dest: string): Promise<void> {
  await mkdir(dest, { recursive: true }).catch((e: unknown) => Promise.reject(fileError(e, 'write', dest, DEST)));
}

/** Applies an image's layers onto `dir`, which exists. */
async function flatten(store: Store, result: Pick<BuildResult, 'layers'>, dir: string): Promise<void> {
  for (const l of result.layers) await applyLayer(store.openBlob(l.digest), dir, { whiteouts: 'apply' });
}

/** The parts of a built (or stored) image its exports need. */
export type ExportedImage = Pick<BuildResult, 'manifestDigest' | 'manifest' | 'configDigest' | 'config' | 'layers'>;

/**
 * Writes an image to `out` as an archive (`oci`, `docker`; under each of `names`, normalised
 * references, as buildx names an archive after every -t) or as a tarball of its root filesystem
 * (`tar`). An OCI archive's manifest, which names its compressed layers, goes to `onManifest`
 * before the archive's first byte.
 */
export async function writeImageTar(
  store: Store,
  image: ExportedImage,
  type: 'oci' | 'docker' | 'tar',
  out: Writable,
  names: readonly string[] = [],
  layerExport?: LayerExport,
  onManifest?: (manifest: ArchivedManifest) => void,
): Promise<void> {
  if (type !== 'tar') {
    const { manifestDigest, manifest, configDigest, layers } = image;
    // BuildKit's OCI exporter stamps the index entry with the time, to the second: the image's
    // own creation time here (the epoch with SOURCE_DATE_EPOCH), so one image gives one archive.
    const made = image.config.created === undefined ? NaN : Date.parse(image.config.created);
    const created = Number.isNaN(made) ? undefined : new Date(made).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const entries = (names.length > 0 ? names : [undefined]).map((name) => ({ ...(name ? { name } : {}), manifestDigest, manifest, configDigest, layers, ...(created ? { created } : {}) }));
    await saveImages(store, entries, type, out, layerExport, (m) => onManifest?.(m[0]!));
    return;
  }
  const tmp = await mkdtemp(join(store.root, 'tmp', `${process.pid}.rootfs-`));
  try {
    await flatten(store, image, tmp);
    await pipeline(createLayerTar(tmp, { overlayWhiteouts: false }), out);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** What an export made that has a manifest of its own: the pushes, or the manifest of an OCI archive. */
export interface ExportResult {
  pushed: PushResult[];
  archived?: ArchivedManifest;
}

/**
 * Exports a built image as an output other than the store: an archive (named `names`,
 * normalised references), or its root filesystem; or, for type=image, names it
 * (`name=`, else the build's tags) and with push=true pushes each name to its registry, with
 * the options `optionsFor` gives that registry.
 */
export async function exportImage(store: Store, result: BuildResult, spec: OutputSpec, names: readonly string[] = [], optionsFor: RegistryOptionsFor = () => ({})): Promise<ExportResult> {
  const dest = spec.dest!;
  switch (spec.type) {
    case 'image': {
      const names = spec.name ? [await store.tagImage(spec.name, result.manifestDigest)] : result.tags;
      if (!spec.push) return { pushed: [] };
      if (names.length === 0) throw new BuildError('E_BUILD_OPTION', 'pushing needs a name for the image', { hint: 'give -t NAME:TAG, or --output type=image,name=NAME:TAG,push=true' });
      const pushed: PushResult[] = [];
      // By digest: another build (a daemon's other client) may have given a name to its own image since.
      for (const n of names) pushed.push(await pushImage(store, result.manifestDigest, n, { ...optionsFor(parseReference(n).registry), ...(spec.layers ? { layers: spec.layers } : {}) }));
      return { pushed };
    }
    case 'local':
      await makeOutputDir(dest);
      await flatten(store, result, dest);
      return { pushed: [] };
    default: {
      let archived: ArchivedManifest | undefined;
      await toFile(dest, (out) => writeImageTar(store, result, spec.type as 'oci' | 'docker' | 'tar', out, names, spec.layers, (m) => (archived = m)));
      return archived ? { pushed: [], archived } : { pushed: [] };
    }
  }
}
