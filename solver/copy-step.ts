import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../cache/index.js';
import type { AddInstruction, CopyInstruction } from '../grammar/index.js';
import { createSnapshot } from '../runtime/index.js';
import type { BuildContext } from './context/index.js';
import { add, checkLinkChown, copy, copyInline, resolveChown, type CopyOptions } from './fileops/index.js';
import { layerDirs, type ChainLayer, type LayerCommits, type PendingLayer } from './layers.js';

export interface CopyStepInput {
  store: Store;
  commits: LayerCommits;
  stateRoot: string;
  /** The layers the copy lands on. */
  layers: readonly ChainLayer[];
  ins: CopyInstruction | AddInstruction;
  /**
   * Where sources are read from: the context dir or another stage's/image's rootfs, which may
   * still be mounting: the destination's snapshot is mounted meanwhile.
   */
  sourceRoot: string | Promise<string>;
  context?: BuildContext;
  workdir: string;
  /** SOURCE_DATE_EPOCH in seconds (see CopyOptions). */
  createdTime?: number;
}

/**
 * COPY/ADD as a layer: into a snapshot over the parent's layers, or with `--link` into an empty
 * directory so the layer does not depend on what is below it.
 */
export async function copyStep(input: CopyStepInput): Promise<PendingLayer> {
  const { ins } = input;
  if (ins.link) {
    const sourceRoot = await input.sourceRoot;
    const dir = await mkdtemp(join(input.store.root, 'tmp', `${process.pid}.link-`));
    try {
      await copyInto(input, dir, sourceRoot);
      return await input.commits.commit(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const [mounted, source] = await Promise.allSettled([layerDirs(input.store, input.layers).then((lowerDirs) => createSnapshot({ stateRoot: input.stateRoot, lowerDirs })), input.sourceRoot]);
  if (mounted.status === 'rejected') throw mounted.reason;
  const snapshot = mounted.value;
  try {
    if (source.status === 'rejected') throw source.reason;
    await copyInto(input, snapshot.rootfs, source.value);
    return await input.commits.commit(snapshot.upperDir, snapshot.unmount());
  } finally {
    input.commits.track(snapshot.release());
  }
}

async function copyInto(input: CopyStepInput, destRoot: string, sourceRoot: string): Promise<void> {
  const { ins } = input;
  if (ins.link && ins.chown !== undefined) checkLinkChown(ins.chown);
  const base = {
    dest: ins.dest,
    destRoot,
    workdir: input.workdir,
    ...(ins.chown !== undefined ? { chown: await resolveChown(destRoot, ins.chown) } : {}),
    ...(ins.chmod !== undefined ? { chmod: ins.chmod } : {}),
    ...(ins.kind === 'copy' && ins.parents ? { parents: true } : {}),
    exclude: ins.exclude,
    ...(input.createdTime !== undefined ? { createdTime: input.createdTime } : {}),
  };
  if (ins.inlineSources.length > 0) await copyInline(ins.inlineSources.map((s) => ({ path: s.path, data: s.data })), base);
  if (ins.sources.length === 0) return;
  const o: CopyOptions = { ...base, sources: ins.sources, sourceRoot, ...(input.context ? { context: input.context } : {}) };
  if (ins.kind === 'add') {
    await add({ ...o, ...(ins.checksum !== undefined ? { checksum: ins.checksum } : {}), ...(ins.unpack !== undefined ? { unpack: ins.unpack } : {}) });
  } else {
    await copy(o);
  }
}
