import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectSources, TreeView, type SourceMatch } from '../context/index.js';
import { detectArchive, extractArchive } from './archive.js';
import { absoluteDest, copyMatches, type CopyOptions } from './copy.js';
import { FileOpError } from './errors.js';
import { download, isGitSource, isUrlSource, urlFileName, type Downloaded } from './fetch-url.js';

export interface AddOptions extends CopyOptions {
  /** `--checksum` for URL sources. */
  checksum?: string;
  /** `--unpack`: extract tar archives at the destination; by default local ones only, with `true` downloaded ones too (BuildKit). */
  unpack?: boolean;
  /** URLs already downloaded (prefetchUrl) for this step's key, so they are not fetched again. */
  fetched?: ReadonlyMap<string, Prefetched>;
}

/** A URL source downloaded ahead of its step, into a directory of its own under its file name. */
export interface Prefetched extends Downloaded {
  dir: string;
}

/**
 * Downloads a URL source before its step runs, as BuildKit's HTTP source does for every build: the
 * content's digest (and Last-Modified, the file's time) go into the step's key, so a changed file
 * at the same URL misses the cache. `dir` is made (one of the store's temp paths, which another
 * kiln's recovery leaves alone while this process lives); the caller removes it when the step is done.
 */
export async function prefetchUrl(url: string, dir: string, checksum?: string): Promise<Prefetched> {
  await mkdir(dir);
  try {
    return { dir, ...(await download(url, join(dir, urlFileName(url)), checksum)) };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * ADD: like COPY, but http(s) URLs are downloaded (0600, `--checksum` verified) and local tar
 * archives (plain, gzip, bzip2, xz, zstd) are extracted into the destination directory, as a
 * downloaded one is with `--unpack=true`.
 */
export async function add(o: AddOptions): Promise<void> {
  const git = o.sources.find(isGitSource);
  if (git) {
    throw new FileOpError('E_ADD_UNSUPPORTED', `ADD of git repositories is not supported yet: ${git}`, {
      hint: 'clone the repository into the build context and COPY it, or RUN git clone in a step',
    });
  }
  const local = o.sources.filter((s) => !isUrlSource(s));
  if (o.checksum !== undefined && local.length > 0) {
    throw new FileOpError('E_ADD_CHECKSUM', `checksum can't be specified for non-HTTP(S) sources: ${local[0]}`, {
      hint: '--checksum verifies downloads; drop it for files from the build context',
    });
  }
  for (const url of o.sources.filter(isUrlSource)) await addUrl(url, o);
  if (local.length === 0) return;
  const view = o.context ? o.context.view : new TreeView(o.sourceRoot);
  const plain: SourceMatch[] = [];
  for (const m of selectSources(view, local)) {
    const compression = o.unpack !== false && m.entry.type === 'file' ? await detectArchive(m.entry.path) : undefined;
    if (compression === undefined) plain.push(m);
    else await addArchive(m, compression, o);
  }
  if (plain.length > 0) await copyMatches(view, plain, o);
}

async function withScratch<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-add-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Extracts into scratch space first, then copies in with COPY's rules, so the rootfs never sees a half-extracted or hostile archive. */
async function addArchive(m: SourceMatch, compression: NonNullable<Awaited<ReturnType<typeof detectArchive>>>, o: AddOptions): Promise<void> {
  await withScratch(async (dir) => {
    await extractArchive(m.entry.path, compression, dir, m.given);
    const view = new TreeView(dir);
    const root = view.stat('');
    if (!root) return;
    const destDir = absoluteDest(o.dest, o.workdir);
    // BuildKit's unpack applies --chown but not --chmod: extracted entries keep the archive's modes.
    const { chmod: _chmod, ...rest } = o;
    await copyMatches(view, [{ given: '.', entry: root, kept: '' }], { ...rest, context: undefined, dest: `${destDir}/`, workdir: '/', parents: false, exclude: [] });
  });
}

async function addUrl(url: string, o: AddOptions): Promise<void> {
  const fetched = o.fetched?.get(url);
  if (fetched) return addDownloaded(url, fetched.dir, o);
  await withScratch(async (dir) => {
    await download(url, join(dir, urlFileName(url)), o.checksum);
    await addDownloaded(url, dir, o);
  });
}

async function addDownloaded(url: string, dir: string, o: AddOptions): Promise<void> {
  const name = urlFileName(url);
  const view = new TreeView(dir);
  // The name as it is, not as a pattern: a URL's file name may hold `[` or `*`.
  const entry = view.stat(name);
  if (!entry) throw new FileOpError('E_ADD_FETCH', `the download of ${url} is gone`);
  const match: SourceMatch = { given: name, entry, kept: name };
  const compression = o.unpack === true ? await detectArchive(join(dir, name)) : undefined;
  if (compression !== undefined) await addArchive(match, compression, o);
  else await copyMatches(view, [match], { ...o, context: undefined, chown: o.chown ?? { uid: 0, gid: 0 }, parents: false, exclude: [] });
}
