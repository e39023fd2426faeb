/**
 * A build context as the daemon's context check wants it: every path the .dockerignore leaves,
 * files by content digest. Digests come from the same stat cache an embedded build uses, so
 * unchanged files are not read again.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { hashFiles, StatCache, type Store } from '../cache/index.js';
import { openContext, type TreeEntry } from '../solver/context/index.js';

/** One path of the context, as `POST /kiln/v1/build/context/check` takes it. */
export interface ListedEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  mtimeNs: string;
  size?: number;
  digest?: string;
  target?: string;
}

export interface ContextList {
  entries: ListedEntry[];
  /** The context directory's own mode and modification time (ns). */
  root?: { mode: number; mtimeNs: string };
  /** Content digest -> an absolute path holding those bytes. */
  sources: Map<string, { path: string; size: number }>;
}

export async function listContext(dir: string, store: Store, dockerfilePath?: string): Promise<ContextList> {
  const context = await openContext(dir, { store, ...(dockerfilePath ? { dockerfilePath } : {}) });
  const walked: TreeEntry[] = [];
  let root: ContextList['root'];
  try {
    const top = context.view.stat('');
    if (top) root = { mode: top.mode, mtimeNs: top.mtimeNs.toString() };
    context.view.walk('', (e) => walked.push(e));
  } finally {
    context.close();
  }
  const cache = StatCache.open(store);
  try {
    const known = cache.load(context.root);
    const files = walked.filter((e) => e.type === 'file');
    if ((await hashFiles(known.files, files)) > 0) cache.save(context.root, known);
    const entries: ListedEntry[] = [];
    const sources = new Map<string, { path: string; size: number }>();
    for (const e of walked) {
      if (e.type === 'file') {
        const digest = known.files.digests(e.rel)!.digest;
        entries.push({ path: e.rel, type: 'file', mode: e.mode, mtimeNs: String(e.mtimeNs), size: Number(e.size), digest });
        if (!sources.has(digest)) sources.set(digest, { path: e.path, size: Number(e.size) });
      } else if (e.type === 'dir') entries.push({ path: e.rel, type: 'dir', mode: e.mode, mtimeNs: String(e.mtimeNs) });
      else if (e.type === 'symlink') entries.push({ path: e.rel, type: 'symlink', mode: e.mode, mtimeNs: String(e.mtimeNs), target: context.view.readlink(e.rel) });
    }
    return { entries, sources, ...(root ? { root } : {}) };
  } finally {
    cache.close();
  }
}

/** A tar of the given contents, each entry named by its digest's hex, read file by file as it is sent. */
export function contentTar(list: ContextList, digests: string[]): Readable {
  const p = pack();
  void (async () => {
    try {
      for (const d of digests) {
        const src = list.sources.get(d);
        if (!src) throw new Error(`the daemon asked for ${d}, which is not in the context`);
        await new Promise<void>((resolve, reject) => {
          const entry = p.entry({ name: d.slice('sha256:'.length), size: src.size, mode: 0o644 }, (err) => (err ? reject(err) : resolve()));
          pipeline(createReadStream(src.path), entry).catch(reject);
        });
      }
      p.finalize();
    } catch (e) {
      p.destroy(e as Error);
    }
  })();
  return Readable.from(p);
}
