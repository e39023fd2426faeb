/**
 * The daemon's content-addressed store of build-context files (`<root>/context-cache/sha256/<hex>`),
 * so a client sends a file's bytes once and later builds name it by digest. A file appears under
 * its name only after its bytes were checked against the digest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, copyFile, chmod, constants, lstat, lutimes, mkdir, readdir, rename, rm, symlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { badRequest } from '../http.js';
import { BULK_WRITE_BUFFER } from '../../common/bulk-write.js';

/** One path of a client's build context: what the client lists before sending any content. */
export interface ContextEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  /** Modification time in nanoseconds since the epoch (decimal string), kept as COPY keeps it. */
  mtimeNs?: string;
  /** Files: byte count and `sha256:<hex>` of the content. */
  size?: number;
  digest?: string;
  /** Symlinks: the link target. */
  target?: string;
}

/** The context directory itself. */
export interface ContextRoot {
  mode: number;
  mtimeNs?: string;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

export class ContextCache {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'context-cache', 'sha256');
  }

  private pathOf(digest: string): string {
    const m = DIGEST.exec(digest);
    if (!m) throw badRequest(`"${digest}" is not a sha256 digest`);
    return join(this.dir, m[1]!);
  }

  /** The digests among `digests` whose content is not stored yet. */
  async missing(digests: Iterable<string>): Promise<string[]> {
    const out: string[] = [];
    for (const d of new Set(digests)) {
      if (!(await access(this.pathOf(d), constants.F_OK).then(() => true, () => false))) out.push(d);
    }
    return out;
  }

  /**
   * Stores every file of a tar whose entries are named by the hex of their digest; only `wanted`
   * digests are accepted. Returns the files and content bytes received.
   */
  async receive(tar: Readable, wanted: Set<string>): Promise<{ files: number; bytes: number }> {
    await mkdir(this.dir, { recursive: true });
    let files = 0;
    let bytes = 0;
    const ex = extract();
    tar.on('error', (e) => ex.destroy(e));
    tar.pipe(ex);
    try {
      for await (const entry of ex) {
        const digest = `sha256:${entry.header.name}`;
        if (entry.header.type !== 'file' || !wanted.has(digest)) throw badRequest(`unexpected context entry "${entry.header.name}": send only the digests the check answered`);
        const final = this.pathOf(digest);
        const tmp = `${final}.${randomBytes(6).toString('hex')}.tmp`;
        const hash = createHash('sha256');
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            bytes += chunk.length;
            cb(null, chunk);
          },
        });
        try {
          await pipeline(entry, counter, createWriteStream(tmp, { highWaterMark: BULK_WRITE_BUFFER }));
          if (`sha256:${hash.digest('hex')}` !== digest) throw badRequest(`context content sent as ${digest} does not match its digest`);
          await rename(tmp, final);
        } catch (e) {
          await rm(tmp, { force: true });
          throw e;
        }
        files++;
      }
    } catch (e) {
      // The request stays open so the answer can be sent; the server drops the rest of the body.
      tar.unpipe(ex);
      ex.destroy();
      throw e;
    }
    return { files, bytes };
  }

  /** Removes stored contents unused for `unusedForMs` (never files still being received); returns the bytes freed. */
  async prune(unusedForMs: number): Promise<number> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const cutoff = Date.now() - unusedForMs;
    let freed = 0;
    for (const name of names) {
      if (name.endsWith('.tmp')) continue;
      const st = await lstat(join(this.dir, name)).catch(() => undefined);
      if (!st || st.mtimeMs > cutoff) continue;
      await rm(join(this.dir, name), { force: true });
      freed += st.size;
    }
    return freed;
  }

  /**
   * Lays the entries out under `dest` from stored contents; every file digest must be stored.
   * `root` is the context directory's own mode and time (COPY . keeps them too).
   */
  async materialize(entries: ContextEntry[], dest: string, root?: ContextRoot): Promise<void> {
    const dirs: ContextEntry[] = [];
    for (const e of entries) {
      const path = join(dest, e.path);
      if (e.type === 'dir') {
        await mkdir(path, { recursive: true });
        dirs.push(e);
        continue;
      }
      await mkdir(dirname(path), { recursive: true });
      if (e.type === 'symlink') {
        await symlink(e.target ?? '', path);
      } else {
        const stored = this.pathOf(e.digest ?? '');
        await copyFile(stored, path, constants.COPYFILE_FICLONE).catch((cause: unknown) => {
          throw badRequest(`the content of ${e.path} (${e.digest}) was never sent, or a prune removed it since the check`, { cause });
        });
        // The stored file's mtime is its last use, which prune goes by.
        const now = new Date();
        await utimes(stored, now, now);
        await chmod(path, e.mode & 0o7777);
      }
    }
    for (const d of [...dirs, { path: '', mode: root?.mode ?? 0o755 }]) await chmod(join(dest, d.path), d.mode & 0o7777);
    // Children change their directory's mtime, so times are set deepest first.
    const timed = [...[...entries].reverse(), { path: '', mtimeNs: root?.mtimeNs }];
    for (const e of timed) {
      if (e.mtimeNs === undefined) continue;
      const t = Number(BigInt(e.mtimeNs) / 1000n) / 1e6;
      await lutimes(join(dest, e.path), t, t);
    }
  }
}

/** A client's entry list checked for shape and for paths that stay inside the context. */
export function validEntries(value: unknown): ContextEntry[] {
  if (!Array.isArray(value)) throw badRequest('entries must be an array');
  return value.map((raw: unknown) => {
    const e = raw as Partial<ContextEntry>;
    if (typeof e !== 'object' || e === null || typeof e.path !== 'string' || typeof e.mode !== 'number') throw badRequest('each entry needs a path, type and mode');
    if (e.mtimeNs !== undefined && !validNs(e.mtimeNs)) throw badRequest(`entry ${e.path} has an invalid mtimeNs`);
    const parts = e.path.split('/');
    if (e.path === '' || e.path.startsWith('/') || parts.some((p) => p === '..' || p === '.' || p === '')) throw badRequest(`context path "${e.path}" must be relative, without . or .. parts`);
    if (e.type === 'file') {
      if (typeof e.digest !== 'string' || !DIGEST.test(e.digest)) throw badRequest(`file ${e.path} needs a sha256 digest`);
    } else if (e.type === 'symlink') {
      if (typeof e.target !== 'string') throw badRequest(`symlink ${e.path} needs a target`);
    } else if (e.type !== 'dir') throw badRequest(`entry ${e.path} has unknown type ${String(e.type)}`);
    return e as ContextEntry;
  });
}

/** A nanosecond time as the protocol carries it: a decimal string. */
export function validNs(value: unknown): value is string {
  return typeof value === 'string' && /^\d{1,20}$/.test(value);
}

export function validRoot(value: unknown): ContextRoot | undefined {
  if (value === undefined) return undefined;
  const r = value as Partial<ContextRoot>;
  if (typeof r !== 'object' || r === null || typeof r.mode !== 'number' || (r.mtimeNs !== undefined && !validNs(r.mtimeNs))) throw badRequest('root must be {mode, mtimeNs}');
  return r as ContextRoot;
}
