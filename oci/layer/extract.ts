import { execFile } from 'node:child_process';
import { constants as fsc } from 'node:fs';
import { chmod, chown, lchown, link, lstat, lutimes, mkdir, open, readdir, realpath, rm, symlink, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { inUserNamespace, mappedUidRanges } from '../../common/user-namespace.js';
import { createDecompressor, detectCompression } from './compression.js';
import { DigestStream } from './digest-stream.js';
import { LayerError } from './errors.js';
import { entryCounter, ExpansionGuard, extractLimitsFromEnv, type ExtractLimits } from './extract-limits.js';
import { entryComponents, ioError, resolveDir, unsafePath } from './safe-path.js';
import type { TarHeader } from './tar-format.js';
import { readTar, type TarEntry } from './tar-reader.js';
import { OPAQUE_XATTR, USERNS_OPAQUE_XATTR } from '../../common/fs-xattr.js';
import { writeXattrs } from './xattrs.js';

const run = promisify(execFile);

export interface ApplyOptions {
  /**
   * `apply` (default): flatten onto an existing tree, deleting what `.wh.` entries name and
   * emptying opaque dirs. `overlay`: extract into one overlayfs lower dir, turning `.wh.NAME`
   * into a 0/0 char device and `.wh..wh..opq` into `trusted.overlay.opaque=y` (needs root;
   * `user.overlay.opaque=y` in a user namespace, for overlay's userxattr mounts there).
   */
  whiteouts?: 'overlay' | 'apply';
  /** Size, entry and ratio limits against decompression bombs; default: `extractLimitsFromEnv()`. */
  limits?: ExtractLimits;
  /** What the input is, for limit errors (default `layer`). */
  what?: string;
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * Applies a layer blob (gzip, zstd or plain tar, detected from its first bytes) onto
 * `targetDir` and returns the diffID of the uncompressed tar. A hostile entry raises a
 * LayerError before anything is written outside `targetDir`; what was already written
 * inside stays, so callers extract into a scratch directory and rename it into place.
 */
export async function applyLayer(input: Readable, targetDir: string, options: ApplyOptions = {}): Promise<{ diffID: string }> {
  const root = await realpath(targetDir).catch((err: unknown) => {
    throw new LayerError('E_LAYER_IO', `cannot apply layer: target ${targetDir} is not accessible`, { cause: err });
  });
  const digest = new DigestStream();
  const extractor = new Extractor(root, options.whiteouts ?? 'apply');
  const what = options.what ?? 'layer';
  try {
    const limits = options.limits ?? extractLimitsFromEnv();
    const countEntry = entryCounter(limits, what);
    const source = await sniffed(input);
    const guard = new ExpansionGuard(limits, source.bytesRead, what);
    await pipeline(source.stream, createDecompressor(source.compression), guard, digest, async (tar: AsyncIterable<Buffer>) => {
      for await (const entry of readTar(tar)) {
        countEntry();
        await extractor.entry(entry);
      }
    });
  } catch (err) {
    input.destroy();
    if (err instanceof LayerError) throw err;
    throw new LayerError('E_LAYER_CORRUPT', `cannot read layer: ${(err as Error).message}`, {
      cause: err,
      hint: 'the layer blob is damaged or not a (gzip/zstd compressed) tar; re-pull or rebuild it',
    });
  }
  await extractor.finish();
  return { diffID: digest.digest };
}

/**
 * Reads enough of `input` to recognise its compression and returns a stream that still starts at
 * byte 0, and how many bytes of it have been handed on so far.
 */
async function sniffed(input: Readable): Promise<{ compression: ReturnType<typeof detectCompression>; stream: Readable; bytesRead: () => number }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < 4) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    length += r.value.length;
  }
  const first = Buffer.concat(head);
  let handed = 0;
  async function* all(): AsyncGenerator<Buffer> {
    handed = first.length;
    if (first.length > 0) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      handed += r.value.length;
      yield r.value;
    }
  }
  return { compression: detectCompression(first), stream: Readable.from(all(), { objectMode: false }), bytesRead: () => handed };
}

interface DeferredDir {
  path: string;
  mode: number;
  mtime: number;
}

class Extractor {
  private readonly isRoot = process.getuid?.() === 0;
  /** Rootless: root only over the mapped ids, no device nodes, opaque markers in `user.overlay.*`. */
  private readonly inUserns = inUserNamespace();
  /** Directories get their mode and mtime last: creating children would change the mtime, and a read-only mode would block them. */
  private dirs: DeferredDir[] = [];
  /** Paths this layer wrote, which an opaque marker in the same layer must not delete. */
  private readonly written = new Set<string>();
  private readonly isOwn = (relPath: string): boolean => this.written.has(relPath);

  constructor(
    private readonly root: string,
    private readonly whiteouts: 'overlay' | 'apply',
  ) {}

  async entry({ header, body }: TarEntry): Promise<void> {
    const parts = entryComponents(header.name);
    if (parts.length === 0) return; // the layer root itself ("./"); the target keeps its own metadata
    const base = parts[parts.length - 1]!;
    const parentParts = parts.slice(0, -1);
    const relParent = parentParts.join('/');

    if (base.startsWith(WHITEOUT_PREFIX)) {
      await this.whiteout(header.name, parentParts, base, header.mtime);
      return;
    }
    const dir = await this.parentDir(relParent, parentParts, header.name);
    const path = join(dir, base);
    this.written.add(relParent === '' ? base : `${relParent}/${base}`);
    try {
      await this.create(header, path, body);
    } catch (err) {
      throw ioError(header.name, err);
    }
  }

  /** Resolved parent directories, valid until something is removed (only removal can turn a resolved component into something else). */
  private readonly resolved = new Map<string, string[]>();

  private async parentDir(relParent: string, parentParts: string[], name: string): Promise<string> {
    let dir = this.resolved.get(relParent);
    if (dir === undefined) {
      // Entries come parent-first, so the grandparent is usually known: resolve one component, not the whole path.
      const up = this.resolved.get(parentParts.slice(0, -1).join('/'));
      dir = up && parentParts.length > 0 ? await resolveDir(this.root, parentParts.slice(-1), name, true, up, this.isOwn) : await resolveDir(this.root, parentParts, name, true, [], this.isOwn);
      this.resolved.set(relParent, dir!);
    }
    return join(this.root, ...dir!);
  }

  private async remove(path: string): Promise<void> {
    this.resolved.clear();
    // A removed directory must not get its deferred metadata later: by then the path may lead through a symlink.
    this.dirs = this.dirs.filter((d) => d.path !== path && !d.path.startsWith(`${path}/`));
    await rm(path, { recursive: true, force: true });
  }

  /** Runs `make`; if the path is taken by an earlier entry or layer, removes that and runs it again. */
  private async replacing(path: string, make: () => Promise<void>): Promise<void> {
    try {
      await make();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      await this.remove(path);
      await make();
    }
  }

  private async create(h: TarHeader, path: string, body: AsyncIterable<Buffer>): Promise<void> {
    switch (h.type) {
      case 'dir':
        await this.makeDir(path);
        await this.own(path, h, false);
        await writeXattrs(path, this.allowedXattrs(h));
        this.dirs.push({ path, mode: h.mode, mtime: h.mtime });
        return;
      case 'file':
        await this.writeFile(path, h, body);
        return;
      case 'symlink':
        await this.replacing(path, () => symlink(h.linkname, path));
        await this.own(path, h, true);
        await lutimes(path, h.mtime, h.mtime);
        return;
      case 'link':
        await this.hardLink(path, h);
        return;
      case 'char':
      case 'block':
      case 'fifo':
        if (await lstat(path).catch(() => undefined)) await this.remove(path);
        await this.special(path, h);
        return;
    }
  }

  /** An existing directory is kept (layers above only update its metadata); anything else there is replaced. */
  private async makeDir(path: string): Promise<void> {
    try {
      await mkdir(path, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if ((await lstat(path)).isDirectory()) return;
      await this.remove(path);
      await mkdir(path, { mode: 0o700 });
    }
  }

  private async writeFile(path: string, h: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
    // O_EXCL|O_NOFOLLOW: whatever was there is removed first, so this can never write through a link.
    let fh: FileHandle | undefined;
    await this.replacing(path, async () => {
      fh = await open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    });
    if (!fh) throw new Error(`open ${path} returned no handle`);
    try {
      for await (const chunk of body) {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      }
      if (this.isRoot) await this.chowning(h, () => fh!.chown(h.uid, h.gid));
      // chown clears set-id bits, so the mode goes on after it.
      await fh.chmod(h.mode);
      await fh.utimes(h.mtime, h.mtime);
    } finally {
      await fh.close();
    }
    await writeXattrs(path, this.allowedXattrs(h));
  }

  private async hardLink(path: string, h: TarHeader): Promise<void> {
    const parts = entryComponents(h.linkname, true);
    if (parts.length === 0) throw unsafePath(h.name, 'a hard link to the layer root');
    const dir = await resolveDir(this.root, parts.slice(0, -1), h.name, false, [], this.isOwn);
    const target = dir && join(this.root, ...dir, parts[parts.length - 1]!);
    const st = target && (await lstat(target).catch(() => undefined));
    if (!target || !st) {
      throw new LayerError('E_LAYER_CORRUPT', `layer entry "${h.name}" is a hard link to "${h.linkname}", which does not exist in the layer`, {
        hint: 'the layer is damaged or was written by a broken tool',
      });
    }
    if (st.isDirectory()) throw unsafePath(h.name, 'a hard link to a directory');
    // link(2) does not follow a symlink target, so this links the entry itself, inside the root.
    await this.replacing(path, () => link(target, path));
  }

  private async special(path: string, h: TarHeader): Promise<void> {
    // No user namespace may create device nodes: left out, as rootless podman and BuildKit do.
    if (h.type !== 'fifo' && this.inUserns) return;
    if (h.type !== 'fifo' && !this.isRoot) {
      throw new LayerError('E_LAYER_DEVICE', `layer entry "${h.name}" is a device node, which only root can create`, {
        hint: 'run kiln as root to use images that contain device nodes',
      });
    }
    const kind = h.type === 'fifo' ? ['p'] : [h.type === 'char' ? 'c' : 'b', String(h.devmajor), String(h.devminor)];
    await mknod(path, kind);
    await this.own(path, h, false);
    await chmod(path, h.mode);
    await writeXattrs(path, this.allowedXattrs(h));
    await utimes(path, h.mtime, h.mtime);
  }

  private async whiteout(name: string, parentParts: string[], base: string, mtime: number): Promise<void> {
    const overlay = this.whiteouts === 'overlay';
    const target = base.slice(WHITEOUT_PREFIX.length);
    if (target === '' || target === '.' || target === '..') throw unsafePath(name, 'a whiteout that names no file');
    const resolved = await resolveDir(this.root, parentParts, name, overlay, [], this.isOwn);
    if (resolved === undefined) return; // apply: nothing below to delete
    const dir = join(this.root, ...resolved);
    if (base === OPAQUE_MARKER) {
      if (overlay) {
        if (!this.isRoot) throw overlayNeedsRoot(name);
        await writeXattrs(dir, new Map([[this.inUserns ? USERNS_OPAQUE_XATTR : OPAQUE_XATTR, Buffer.from('y')]]));
        return;
      }
      const rel = parentParts.join('/');
      for (const child of await readdir(dir)) {
        if (!this.written.has(rel === '' ? child : `${rel}/${child}`)) await this.remove(join(dir, child));
      }
      return;
    }
    const path = join(dir, target);
    try {
      if (overlay) {
        if (!this.isRoot) throw overlayNeedsRoot(name);
        await this.remove(path);
        await mknod(path, ['c', '0', '0']);
        await utimes(path, mtime, mtime);
      } else {
        await this.remove(path);
      }
    } catch (err) {
      throw ioError(name, err);
    }
  }

  private async own(path: string, h: TarHeader, isSymlink: boolean): Promise<void> {
    if (!this.isRoot) return;
    await this.chowning(h, () => (isSymlink ? lchown(path, h.uid, h.gid) : chown(path, h.uid, h.gid)));
  }

  /** In a user namespace an owner outside the mapped ids is EINVAL: say which ids and what to configure. */
  private async chowning(h: TarHeader, change: () => Promise<void>): Promise<void> {
    try {
      await change();
    } catch (err) {
      if (!this.inUserns || (err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
      throw new LayerError('E_LAYER_UNMAPPED_ID', `layer entry "${h.name}" is owned by ${h.uid}:${h.gid}, outside the ids kiln's user namespace maps (${mappedUidRanges()})`, {
        cause: err,
        hint: 'give the user running kiln a larger range of subordinate ids in /etc/subuid and /etc/subgid (usermod --add-subuids/--add-subgids), or run kiln as root',
      });
    }
  }

  /**
   * Without root only `user.*` attributes can be set; the others are dropped rather than failing the
   * pull. Root of a user namespace can also set file capabilities, not `trusted.*` ones.
   */
  private allowedXattrs(h: TarHeader): Map<string, Buffer> {
    if (this.isRoot && !this.inUserns) return h.xattrs;
    return new Map([...h.xattrs].filter(([k]) => k.startsWith('user.') || (this.isRoot && k === 'security.capability')));
  }

  async finish(): Promise<void> {
    for (const d of this.dirs.reverse()) {
      try {
        if (!(await lstat(d.path)).isDirectory()) continue;
        await chmod(d.path, d.mode);
        await utimes(d.path, d.mtime, d.mtime);
      } catch (err) {
        throw ioError(d.path, err);
      }
    }
  }
}

function overlayNeedsRoot(name: string): LayerError {
  return new LayerError('E_LAYER_DEVICE', `layer entry "${name}" is a whiteout, which overlay mode stores as a device node only root can create`, {
    hint: "run kiln as root, or apply the layer with whiteouts: 'apply'",
  });
}

async function mknod(path: string, kind: string[]): Promise<void> {
  // Node has no mknod(2); the coreutils command is everywhere kiln runs.
  await run('mknod', [path, ...kind]);
}
