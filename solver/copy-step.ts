import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../cache/index.js';
import type { AddInstruction, CopyInstruction } from '../grammar/index.js';
import { createSnapshot, createUpperSnapshot, lookupInLowers } from '../runtime/index.js';
import { cleanRel, hasGlobMeta, selectSources, TreeView, type BuildContext } from './context/index.js';
import {
  absoluteDest,
  accountsIn,
  accountsInLowers,
  add,
  checkLinkChown,
  copy,
  copyInline,
  copyMatches,
  copyUpDirs,
  destIsDirectory,
  numericChown,
  resolveChown,
  upperOnlyDirs,
  type Accounts,
  type CopyOptions,
  type Prefetched,
} from './fileops/index.js';
import { expectLayer } from '../oci/index.js';
import { layerDirs, type ChainLayer, type LayerCommits, type PendingLayer } from './layers.js';

export interface CopyStepInput {
  store: Store;
  commits: LayerCommits;
  stateRoot: string;
  /** The layers the copy lands on. */
  layers: readonly ChainLayer[];
  ins: CopyInstruction | AddInstruction;
  /** Where sources are read from: the context dir, or another stage's/image's rootfs, mounted on demand. */
  sourceRoot: () => Promise<string>;
  /** For another stage's or image's sources: its extracted layers, to find a single file in without mounting them. */
  sourceLayers?: () => Promise<string[]>;
  context?: BuildContext;
  /** What the context sources selected add up to, when known: the layer will be about that big. */
  sourceSize?: { bytes: number; files: number };
  workdir: string;
  /** SOURCE_DATE_EPOCH in seconds (see CopyOptions). */
  createdTime?: number;
  /** ADD's URLs, already downloaded for the key. */
  fetched?: ReadonlyMap<string, Prefetched>;
}

/**
 * COPY/ADD as a layer: straight into a bare upper dir where the copy needs no merged view of the
 * layers below (upperOnlyDirs), else into an overlay snapshot over them; with `--link` into an
 * empty directory, so the layer does not depend on what is below it.
 */
export async function copyStep(input: CopyStepInput): Promise<PendingLayer> {
  const { ins } = input;
  const big = input.sourceSize ? expectLayer(input.sourceSize) : false;
  const sourceRoot = await sourceRootOf(input);
  if (ins.link) {
    const dir = await mkdtemp(join(input.store.root, 'tmp', `${process.pid}.link-`));
    try {
      await copyInto(input, dir, sourceRoot);
      return await input.commits.commit(dir, undefined, big);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const lowerDirs = await layerDirs(input.store, input.layers);
  const direct = await copyIntoUpper(input, lowerDirs, sourceRoot, big);
  if (direct) return direct;
  const snapshot = await createSnapshot({ stateRoot: input.stateRoot, lowerDirs });
  try {
    await copyInto(input, snapshot.rootfs, sourceRoot);
    return await input.commits.commit(snapshot.upperDir, snapshot.unmount(), big);
  } finally {
    input.commits.release(snapshot);
  }
}

/**
 * The tree to read sources from. A single file of another stage (`COPY --from=build /app/bin .`)
 * is read from the layer dir that holds it, found by lookup; mounting the stage's layers would
 * cost a mount and an unmount.
 */
async function sourceRootOf(input: CopyStepInput): Promise<string> {
  const { ins } = input;
  const [only] = ins.sources;
  if (input.sourceLayers && ins.kind === 'copy' && !ins.parents && ins.sources.length === 1 && !hasGlobMeta(only!)) {
    const found = lookupInLowers(await input.sourceLayers(), `/${cleanRel(only!)}`);
    if (found.kind === 'file') return found.layer;
  }
  return input.sourceRoot();
}

/**
 * COPY into a bare upper dir (no --parents or heredoc), when upperOnlyDirs
 * says the copier sees the same there as in the merged view; undefined otherwise.
 */
async function copyIntoUpper(input: CopyStepInput, lowerDirs: string[], sourceRoot: string, big: boolean): Promise<PendingLayer | undefined> {
  const { ins } = input;
  if (ins.kind !== 'copy' || ins.parents || ins.inlineSources.length > 0) return undefined;
  // Names to look up are read from the layers below, as the merged view would show them.
  const named = ins.chown !== undefined && !numericChown(ins.chown);
  const accounts = named ? accountsInLowers(lowerDirs) : undefined;
  if (named && !accounts) return undefined;
  const view = input.context ? input.context.view : new TreeView(sourceRoot);
  const matches = selectSources(view, ins.sources);
  const copyUp = upperOnlyDirs(lowerDirs, view, absoluteDest(ins.dest, input.workdir), destIsDirectory(ins.dest), matches);
  if (!copyUp) return undefined;
  const snapshot = await createUpperSnapshot(input.stateRoot);
  try {
    copyUpDirs(lowerDirs, snapshot.upperDir, copyUp);
    await copyMatches(view, matches, { ...(await baseOptions(input, snapshot.upperDir, accounts)), ...(input.context ? { context: input.context } : {}) });
    return await input.commits.commit(snapshot.upperDir, undefined, big);
  } finally {
    input.commits.release(snapshot);
  }
}

async function baseOptions(input: CopyStepInput, destRoot: string, accounts?: Accounts): Promise<Omit<CopyOptions, 'sources' | 'sourceRoot'>> {
  const { ins } = input;
  return {
    dest: ins.dest,
    destRoot,
    workdir: input.workdir,
    ...(ins.chown !== undefined ? { chown: await resolveChown(accounts ?? accountsIn(destRoot), ins.chown) } : {}),
    ...(ins.chmod !== undefined ? { chmod: ins.chmod } : {}),
    ...(ins.kind === 'copy' && ins.parents ? { parents: true } : {}),
    exclude: ins.exclude,
    ...(input.createdTime !== undefined ? { createdTime: input.createdTime } : {}),
  };
}

async function copyInto(input: CopyStepInput, destRoot: string, sourceRoot: string): Promise<void> {
  const { ins } = input;
  if (ins.link && ins.chown !== undefined) checkLinkChown(ins.chown);
  const base = await baseOptions(input, destRoot);
  if (ins.inlineSources.length > 0) await copyInline(ins.inlineSources.map((s) => ({ path: s.path, data: s.data })), base);
  if (ins.sources.length === 0) return;
  const o: CopyOptions = { ...base, sources: ins.sources, sourceRoot, ...(input.context ? { context: input.context } : {}) };
  if (ins.kind === 'add') {
    await add({ ...o, ...(ins.checksum !== undefined ? { checksum: ins.checksum } : {}), ...(ins.unpack !== undefined ? { unpack: ins.unpack } : {}), ...(input.fetched ? { fetched: input.fetched } : {}) });
  } else {
    await copy(o);
  }
}
