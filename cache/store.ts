import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { access, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import {
  digestHex,
  isDigest,
  isIndexMediaType,
  selectManifest,
  sha256Digest,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type LayerDescriptor,
} from '../oci/index.js';
import { formatReference, InvalidReferenceError, normalizeReference, parseReference } from '../oci/index.js';
import { systemReason } from '../common/file-errors.js';
import { onInterrupt } from '../common/interrupt.js';
import { writableDirProblem } from '../common/writable-dir.js';
import { AmbiguousImageError, BlobNotFoundError, DigestMismatchError, ImageNotFoundError, SizeMismatchError, StoreBusyError, StoreError } from './errors.js';
import { StoreLayout } from './layout.js';
import { markTreeDirs } from './top-dirs.js';
import { closeDb, immediate, openDb, type Db, type Statement } from './metadata.js';
import { processAlive } from './process-alive.js';
import { abandonSession, endSessions, recover } from './recovery.js';
import { extractLayer } from './snapshot-extract.js';
import { writeDurableStream, writeTempFile } from './temp-file.js';
import { writeDurableFileSync } from '../common/durable-file.js';
import { discardTree, discardTrees } from './discard.js';
import { uncompressedSize } from './diff-size.js';

export interface WriteBlobOptions {
  expectedDigest?: string;
  expectedSize?: number;
  mediaType?: string;
}

export interface BlobInfo {
  digest: string;
  size: number;
}

/** An image found in the store, with everything needed to run or export it. */
export interface ResolvedImage {
  /** The normalised name it was found by, when it was found by name. */
  name?: string;
  /** Digest of the manifest (for a multi-platform index: of this platform's manifest). */
  manifestDigest: string;
  manifest: ImageManifest;
  /** The image id, as docker defines it. */
  configDigest: string;
  config: ImageConfig;
  layers: LayerDescriptor[];
  /** Set when the name or id pointed at an index and the host platform's manifest was picked. */
  indexDigest?: string;
}

/** One row of `kiln images`. */
export interface ImageSummary {
  /** Normalised name, or undefined for an untagged (dangling) image. */
  name?: string;
  manifestDigest: string;
  configDigest: string;
  created?: string;
  /** Bytes of the image's layers uncompressed, as `docker images` shows. */
  size: number;
}

export interface GcResult {
  removed: string[];
  freedBytes: number;
}

export interface LockOptions {
  timeoutMs?: number;
}

const ID_PREFIX = /^(?:sha256:)?([a-f0-9]{1,64})$/;

/** A blob given whole up to this size is written on the main thread (writeDurableFileSync). */
const SMALL_BLOB = 256 * 1024;
/** Parse results the store remembers (the newest; a Dockerfile's is a few KB). */
const PARSED_KEPT = 256;

/**
 * The content store under a state root. See index.ts for the contract; safe to use from several
 * kiln processes at once on one root.
 */
export class Store {
  private readonly session: string;
  private closed = false;
  /** Prepared once per connection: compiling the SQL again on every call showed in every build step. */
  private readonly statements = new Map<string, Statement>();
  /** Unregisters what Ctrl-C does to this session (ends it as recovery would), once close() has ended it. */
  private readonly forgetInterrupt: () => void;

  private constructor(
    readonly layout: StoreLayout,
    private readonly db: Db,
  ) {
    this.session = `${process.pid}-${randomBytes(6).toString('hex')}`;
    this.sql('INSERT INTO sessions (id, pid, started_at) VALUES (?, ?, ?)').run(this.session, process.pid, Date.now());
    this.forgetInterrupt = onInterrupt(() => {
      abandonSession(this.db, this.layout, this.session);
      this.closed = true;
      this.db.close();
    });
  }

  static async open(root: string): Promise<Store> {
    const layout = new StoreLayout(root);
    try {
      await layout.create();
    } catch (e) {
      // Node's recursive mkdir says ENOENT where a parent is read-only; look for the real reason.
      const problem = await writableDirProblem(root, true);
      throw new StoreError('E_STORE_OPEN', `cannot create the kiln state root at ${root}: ${problem?.reason ?? systemReason(e)}`, {
        cause: e,
        hint: 'pick a writable directory with --root or KILN_ROOT',
      });
    }
    const db = openDb(layout.dbPath);
    await markTreeDirs(db, layout);
    await recover(db, layout);
    return new Store(layout, db);
  }

  get root(): string {
    return this.layout.root;
  }

  private sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.forgetInterrupt();
    try {
      endSessionOnFullDisk(() => immediate(this.db, () => endSessions(this.db, [this.session])));
    } catch {
      // Close runs in finally blocks, where throwing would hide the error that got us there (a
      // full disk fails this write too); the next kiln process ends a dead process's session.
    } finally {
      closeDb(this.db);
    }
  }

  // ---- blobs ----------------------------------------------------------------------------------

  blobPath(digest: string): string {
    return this.layout.blobPath(digest);
  }

  async writeBlob(stream: Readable, opts: WriteBlobOptions = {}): Promise<BlobInfo> {
    return this.writeBlobWith((tmp) => writeTempFile(stream, tmp), opts);
  }

  /**
   * Stores a stream whose producer computes its digest and size as it streams (`digested`,
   * settled once the stream has ended, as packLayer's result is): the bytes are not hashed again.
   */
  async writeDigestedBlob(stream: Readable, digested: Promise<BlobInfo>, opts: WriteBlobOptions = {}): Promise<BlobInfo> {
    return this.writeBlobWith(async (tmp) => {
      await writeDurableStream(tmp, stream);
      const { digest, size } = await digested;
      return { digest, size };
    }, opts);
  }

  /**
   * Stores a blob that `write` puts into a new file at the temp path it is given (another thread
   * may do the writing): `write` must fsync the file before it resolves with the bytes' digest and
   * size. The store checks them, then records and renames; the temp file never outlives a failure.
   */
  async writeBlobWith(write: (tempPath: string) => Promise<BlobInfo>, opts: WriteBlobOptions = {}): Promise<BlobInfo> {
    if (opts.expectedDigest !== undefined) digestHex(opts.expectedDigest);
    const tmp = this.layout.tempPath('blob');
    let written: BlobInfo;
    try {
      written = await write(tmp);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const { digest, size } = written;
    const what = `blob ${opts.expectedDigest ?? digest}`;
    if (opts.expectedDigest !== undefined && digest !== opts.expectedDigest) {
      await rm(tmp, { force: true });
      throw new DigestMismatchError(what, opts.expectedDigest, digest);
    }
    if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
      await rm(tmp, { force: true });
      throw new SizeMismatchError(what, opts.expectedSize, size);
    }
    // Record and hold first, then rename: GC never removes a held blob, and a crash in between
    // leaves a row without a file, which recovery removes.
    immediate(this.db, () => {
      this.sql('INSERT OR IGNORE INTO blobs (digest, size, media_type, created_at) VALUES (?, ?, ?, ?)').run(digest, size, opts.mediaType ?? null, Date.now());
      this.hold(digest);
    });
    const final = this.layout.blobPath(digest);
    // One metadata syscall: on the thread pool it waited behind whatever packing was going on.
    if (existsSync(final)) unlinkSync(tmp);
    else renameSync(tmp, final);
    return { digest, size };
  }

  async writeBlobBuffer(buf: Buffer | string, opts: WriteBlobOptions = {}): Promise<BlobInfo> {
    const bytes = Buffer.from(buf);
    const digest = sha256Digest(bytes);
    // A rebuild writes the same config and manifest again: when the blob is already there (held
    // first, as writeBlob does, so GC cannot take it), skip the temp file and its fsync.
    if ((opts.expectedDigest === undefined || opts.expectedDigest === digest) && (opts.expectedSize === undefined || opts.expectedSize === bytes.length)) {
      immediate(this.db, () => {
        this.sql('INSERT OR IGNORE INTO blobs (digest, size, media_type, created_at) VALUES (?, ?, ?, ?)').run(digest, bytes.length, opts.mediaType ?? null, Date.now());
        this.hold(digest);
      });
      if (existsSync(this.layout.blobPath(digest))) return { digest, size: bytes.length };
    }
    if (bytes.length <= SMALL_BLOB) {
      return this.writeBlobWith(async (tmp) => {
        writeDurableFileSync(tmp, bytes);
        return { digest, size: bytes.length };
      }, opts);
    }
    return this.writeBlob(Readable.from([bytes]), opts);
  }

  /** Serialises `value` as JSON and stores it. */
  writeJson(value: unknown, mediaType?: string): Promise<BlobInfo> {
    return this.writeBlobBuffer(JSON.stringify(value), mediaType === undefined ? {} : { mediaType });
  }

  /** Whether the blob is present; a present blob is also held (kept from GC) for this session. */
  async hasBlob(digest: string): Promise<boolean> {
    const path = this.layout.blobPath(digest);
    immediate(this.db, () => this.hold(digest));
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
  }

  async blobSize(digest: string): Promise<number> {
    try {
      return (await stat(this.layout.blobPath(digest))).size;
    } catch {
      throw new BlobNotFoundError(digest);
    }
  }

  openBlob(digest: string): Readable {
    const path = this.layout.blobPath(digest);
    if (!existsSync(path)) throw new BlobNotFoundError(digest);
    return createReadStream(path);
  }

  async readBlob(digest: string): Promise<Buffer> {
    let buf: Buffer;
    try {
      buf = await readFile(this.layout.blobPath(digest));
    } catch {
      throw new BlobNotFoundError(digest);
    }
    const actual = sha256Digest(buf);
    if (actual !== digest) throw new DigestMismatchError(`stored blob ${digest}`, digest, actual);
    return buf;
  }

  async readJson<T>(digest: string): Promise<T> {
    const buf = await this.readBlob(digest);
    try {
      return JSON.parse(buf.toString('utf8')) as T;
    } catch (e) {
      throw new StoreError('E_STORE_JSON', `blob ${digest} is not valid JSON`, { cause: e });
    }
  }

  private hold(digest: string): void {
    this.sql('INSERT OR IGNORE INTO holds (session, digest) VALUES (?, ?)').run(this.session, digest);
  }

  /** Records that `parent` (a manifest or index) needs `children`, so GC keeps them together. */
  addRefs(parent: string, children: string[]): void {
    immediate(this.db, () => {
      const ins = this.sql('INSERT OR IGNORE INTO refs (parent, child) VALUES (?, ?)');
      for (const c of children) ins.run(parent, c);
    });
  }

  /**
   * A stored blob of `source`'s tar compressed otherwise, in one of `mediaTypes`: such a copy is
   * a child of its source in `refs` (oci/image exportLayers), so GC keeps it exactly as long as
   * the layer it copies. A lookup, not a hold.
   */
  layerVariant(source: string, mediaTypes: readonly string[]): BlobInfo | undefined {
    const rows = this.sql('SELECT r.child AS digest, b.size AS size FROM refs r JOIN blobs b ON b.digest = r.child WHERE r.parent = ? AND b.media_type IN (SELECT value FROM json_each(?))').all(source, JSON.stringify(mediaTypes)) as BlobInfo[];
    return rows.find((r) => existsSync(this.layout.blobPath(r.digest)));
  }

  // ---- images ---------------------------------------------------------------------------------

  /**
   * Records a manifest or index already in the store as an image (listed by `kiln images`, kept
   * by GC), with the references from it to its config, layers and child manifests.
   */
  async registerImage(manifestDigest: string): Promise<void> {
    const top = await this.readJson<ImageManifest | ImageIndex>(manifestDigest);
    const edges: [string, string[]][] = [];
    let configDigest = '';
    let created = Date.now();
    if (isIndexMediaType(top.mediaType) || 'manifests' in top) {
      const index = top as ImageIndex;
      edges.push([manifestDigest, index.manifests.map((m) => m.digest)]);
      for (const m of index.manifests) {
        if (!(await this.hasBlob(m.digest))) continue;
        const child = await this.readJson<ImageManifest | ImageIndex>(m.digest);
        if ('layers' in child) edges.push([m.digest, manifestChildren(child)]);
      }
      const picked = selectManifest(index);
      if (picked && (await this.hasBlob(picked.digest))) configDigest = (await this.readJson<ImageManifest>(picked.digest)).config.digest;
    } else {
      const manifest = top as ImageManifest;
      edges.push([manifestDigest, manifestChildren(manifest)]);
      configDigest = manifest.config.digest;
    }
    if (configDigest && (await this.hasBlob(configDigest))) created = createdAt(await this.readJson<ImageConfig>(configDigest)) ?? created;
    immediate(this.db, () => this.insertImage(manifestDigest, edges, configDigest, created));
  }

  /**
   * Records the image a build has just written, whose manifest and config are in hand (so none is
   * read back), with the names in `names`, in one transaction. Returns the normalised names.
   */
  recordImage(manifestDigest: string, manifest: ImageManifest, config: ImageConfig, names: readonly string[]): string[] {
    const normal = names.map(normalizeReference);
    immediate(this.db, () => {
      this.insertImage(manifestDigest, [[manifestDigest, manifestChildren(manifest)]], manifest.config.digest, createdAt(config) ?? Date.now());
      for (const n of normal) this.insertTag(n, manifestDigest);
    });
    return normal;
  }

  private insertImage(manifestDigest: string, edges: readonly [string, string[]][], configDigest: string, created: number): void {
    const ins = this.sql('INSERT OR IGNORE INTO refs (parent, child) VALUES (?, ?)');
    for (const [p, cs] of edges) for (const c of cs) ins.run(p, c);
    this.sql('INSERT INTO images (manifest_digest, config_digest, created_at) VALUES (?, ?, ?) ON CONFLICT (manifest_digest) DO UPDATE SET config_digest = excluded.config_digest')
      .run(manifestDigest, configDigest, created);
  }

  private insertTag(normalName: string, manifestDigest: string): void {
    this.sql('INSERT INTO tags (name, manifest_digest, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET manifest_digest = excluded.manifest_digest, updated_at = excluded.updated_at')
      .run(normalName, manifestDigest, Date.now());
  }

  /** Points `name` at an image (registering it). Returns the normalised name. */
  async tagImage(name: string, manifestDigest: string): Promise<string> {
    const normal = normalizeReference(name);
    await this.registerImage(manifestDigest);
    this.insertTag(normal, manifestDigest);
    return normal;
  }

  /**
   * Removes a name. When it was the image's last name, the image is removed too (its blobs become
   * GC candidates). Returns the manifest digest it pointed at and whether the image went away.
   */
  untag(name: string): { manifestDigest: string; removedImage: boolean } {
    const normal = normalizeReference(name);
    return immediate(this.db, () => {
      const row = this.sql('SELECT manifest_digest FROM tags WHERE name = ?').get(normal) as { manifest_digest: string } | undefined;
      if (!row) throw new ImageNotFoundError(name);
      this.sql('DELETE FROM tags WHERE name = ?').run(normal);
      const others = this.sql('SELECT COUNT(*) AS n FROM tags WHERE manifest_digest = ?').get(row.manifest_digest) as { n: number };
      if (others.n > 0) return { manifestDigest: row.manifest_digest, removedImage: false };
      this.sql('DELETE FROM images WHERE manifest_digest = ?').run(row.manifest_digest);
      return { manifestDigest: row.manifest_digest, removedImage: true };
    });
  }

  /** Removes an image and every name pointing at it. */
  removeImage(manifestDigest: string): string[] {
    return immediate(this.db, () => {
      const names = (this.sql('SELECT name FROM tags WHERE manifest_digest = ?').all(manifestDigest) as { name: string }[]).map((r) => r.name);
      this.sql('DELETE FROM tags WHERE manifest_digest = ?').run(manifestDigest);
      this.sql('DELETE FROM images WHERE manifest_digest = ?').run(manifestDigest);
      return names;
    });
  }

  /** Names pointing at this manifest (or index) digest, sorted. */
  imageNames(manifestDigest: string): string[] {
    return (this.sql('SELECT name FROM tags WHERE manifest_digest = ? ORDER BY name').all(manifestDigest) as { name: string }[]).map((r) => r.name);
  }

  /** All images: one row per name, plus one per untagged image. Newest first. */
  async listImages(): Promise<ImageSummary[]> {
    const rows = this.sql(
        `SELECT t.name AS name, i.manifest_digest AS manifest, i.config_digest AS config, i.created_at AS created
         FROM images i LEFT JOIN tags t ON t.manifest_digest = i.manifest_digest
         ORDER BY i.created_at DESC, t.name`,
      )
      .all() as { name: string | null; manifest: string; config: string; created: number }[];
    const sizes = new Map<string, number>();
    const out: ImageSummary[] = [];
    for (const r of rows) {
      let size = sizes.get(r.manifest);
      if (size === undefined) {
        size = await this.resolveImage(r.manifest).then((img) => this.imageSize(img)).catch(() => 0);
        sizes.set(r.manifest, size);
      }
      const s: ImageSummary = { manifestDigest: r.manifest, configDigest: r.config, created: new Date(r.created).toISOString(), size };
      if (r.name !== null) s.name = r.name;
      out.push(s);
    }
    return out;
  }

  /** Size as docker reports it: the image's layers uncompressed (the diffIDs' tars). */
  async imageSize(img: ResolvedImage): Promise<number> {
    let total = 0;
    for (const layer of img.layers) total += await this.diffSize(layer);
    return total;
  }

  /**
   * A layer's uncompressed size, measured from its blob the first time it is asked for. A layer
   * whose blob is not here (fetched lazily, never used) or does not decompress counts with its
   * blob size: a listing must not fail on it (using the layer does, with the real error).
   */
  private async diffSize(layer: LayerDescriptor): Promise<number> {
    const known = this.sql('SELECT size FROM diff_sizes WHERE diff_id = ?').get(layer.diffID) as { size: number } | undefined;
    if (known) return known.size;
    // A plain tar stored under its diffID is its own size.
    if (layer.digest === layer.diffID || !(await this.hasBlob(layer.digest))) return layer.size;
    const size = await uncompressedSize(this.openBlob(layer.digest), layer.mediaType).catch(() => undefined);
    if (size === undefined) return layer.size;
    this.sql('INSERT OR IGNORE INTO diff_sizes (diff_id, size) VALUES (?, ?)').run(layer.diffID, size);
    return size;
  }

  /**
   * Records that the image stored under `manifestDigest` is `reference`'s repository at `digest` in
   * a registry (docker's RepoDigests), as a pull or push learns it.
   */
  recordRepoDigest(manifestDigest: string, reference: string, digest: string): void {
    const repository = formatReference({ ...parseReference(reference), tag: undefined, digest: undefined });
    this.sql('INSERT OR IGNORE INTO repo_digests (manifest_digest, repo_digest) VALUES (?, ?)').run(manifestDigest, `${repository}@${digest}`);
  }

  /** `repository@sha256:...` of every registry copy recorded for this manifest (or index), sorted. */
  repoDigests(manifestDigest: string): string[] {
    return (this.sql('SELECT repo_digest FROM repo_digests WHERE manifest_digest = ? ORDER BY repo_digest').all(manifestDigest) as { repo_digest: string }[]).map((r) => r.repo_digest);
  }

  /**
   * Finds an image by name (normalised like docker: `busybox` is `docker.io/library/busybox:latest`),
   * by `name@sha256:...`, by manifest digest, or by image id or id prefix (`sha256:abc...`, `abc1`).
   */
  async resolveImage(nameOrId: string): Promise<ResolvedImage> {
    const found = this.lookup(nameOrId);
    if (!found) throw new ImageNotFoundError(nameOrId);
    let manifestDigest = found.manifestDigest;
    let indexDigest: string | undefined;
    const top = await this.readJson<ImageManifest | ImageIndex>(manifestDigest);
    let manifest: ImageManifest;
    if ('manifests' in top) {
      const picked = selectManifest(top);
      if (!picked) {
        throw new ImageNotFoundError(nameOrId, { hint: 'the image has no manifest for this host platform' });
      }
      indexDigest = manifestDigest;
      manifestDigest = picked.digest;
      manifest = await this.readJson<ImageManifest>(picked.digest);
    } else {
      manifest = top;
    }
    const config = await this.readJson<ImageConfig>(manifest.config.digest);
    const diffIDs = config.rootfs?.diff_ids ?? [];
    if (diffIDs.length !== manifest.layers.length) {
      throw new StoreError('E_IMAGE_INVALID', `image ${nameOrId}: manifest has ${manifest.layers.length} layers but config has ${diffIDs.length} diff_ids`);
    }
    const layers = manifest.layers.map((l, i) => ({ ...l, diffID: diffIDs[i]! }));
    const out: ResolvedImage = { manifestDigest, manifest, configDigest: manifest.config.digest, config, layers };
    if (found.name !== undefined) out.name = found.name;
    if (indexDigest !== undefined) out.indexDigest = indexDigest;
    return out;
  }

  private lookup(nameOrId: string): { name?: string; manifestDigest: string } | undefined {
    let normal: string | undefined;
    try {
      normal = normalizeReference(nameOrId);
    } catch (e) {
      if (!(e instanceof InvalidReferenceError)) throw e;
    }
    if (normal !== undefined) {
      const tag = this.sql('SELECT manifest_digest FROM tags WHERE name = ?').get(normal) as { manifest_digest: string } | undefined;
      if (tag) return { name: normal, manifestDigest: tag.manifest_digest };
      const at = normal.indexOf('@');
      if (at !== -1) {
        const digest = normal.slice(at + 1);
        const img = this.sql('SELECT manifest_digest FROM images WHERE manifest_digest = ?').get(digest);
        if (img || existsSync(this.layout.blobPath(digest))) return { manifestDigest: digest };
      }
    }
    if (isDigest(nameOrId) && this.sql('SELECT 1 FROM images WHERE manifest_digest = ?').get(nameOrId)) {
      return { manifestDigest: nameOrId };
    }
    const m = ID_PREFIX.exec(nameOrId);
    if (!m) return undefined;
    const rows = this.sql(
        `SELECT i.config_digest AS config, i.manifest_digest AS manifest, (SELECT COUNT(*) FROM tags t WHERE t.manifest_digest = i.manifest_digest) AS tagged
         FROM images i WHERE substr(i.config_digest, 8, ?) = ? ORDER BY tagged DESC, i.created_at DESC`,
      )
      .all(m[1]!.length, m[1]) as { config: string; manifest: string }[];
    if (rows.length === 0) return undefined;
    const ids = new Set(rows.map((r) => r.config));
    if (ids.size > 1) throw new AmbiguousImageError(nameOrId, ids.size);
    return { manifestDigest: rows[0]!.manifest };
  }

  // ---- extracted layers -----------------------------------------------------------------------

  /**
   * The directory holding this layer extracted (overlay whiteout form), extracting it on first use.
   * Extraction goes to a temp dir that is renamed into place, so a dir under snapshots/ is always complete.
   */
  async layerDir(layer: { digest: string; diffID: string }): Promise<string> {
    const known = this.snapshotDirOf(layer.diffID);
    if (known && existsSync(known)) return known;
    const final = this.snapshotPathFor(layer.diffID);
    if (existsSync(final)) return this.recordSnapshot(layer.diffID, final);
    const tmp = this.layout.tempPath('snap');
    try {
      await extractLayer(this.openBlob(layer.digest), tmp, layer.diffID);
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      // Another process finished the same extraction first.
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(final)) throw e;
    }
    return this.recordSnapshot(layer.diffID, final);
  }

  /**
   * Makes `dir` (on the store's filesystem, e.g. a container's upper dir) the extracted form of the
   * layer with this diffID, by renaming it in. Returns the snapshot path; `dir` no longer exists after.
   */
  async adoptLayerDir(diffID: string, dir: string): Promise<string> {
    const known = this.snapshotDirOf(diffID);
    if (known && existsSync(known)) {
      await discardTree(this.layout, dir);
      return known;
    }
    const final = this.snapshotPathFor(diffID);
    try {
      await rename(dir, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EXDEV') {
        throw new StoreError('E_STORE_XDEV', `cannot adopt ${dir}: it is not on the same filesystem as ${this.root}`, { cause: e });
      }
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !existsSync(final)) throw e;
      await rm(dir, { recursive: true, force: true });
    }
    return this.recordSnapshot(diffID, final);
  }

  /**
   * A fresh path under snapshots/ for a layer dir whose diffID is not known yet (a build step's
   * upper dir, usable as a lower dir at once while its blob is still being written). Until
   * recordLayerDir claims it, prune counts it as a dead snapshot of some other process, and once
   * this process is dead, recovery removes it.
   */
  pendingLayerPath(): string {
    return this.layout.pendingSnapshotPath();
  }

  /**
   * Records `path` (from pendingLayerPath) as the extracted form of the layer with this diffID,
   * and the disk space it takes when the caller measured it.
   * False when another dir already holds that layer: `path` is then a spare copy, for the caller
   * to discard once no mount uses it.
   */
  recordLayerDir(diffID: string, path: string, diskBytes?: number): boolean {
    const dir = path.slice(this.layout.snapshotsDir.length + 1);
    return immediate(this.db, () => {
      const known = this.snapshotDirOf(diffID);
      if (known && known !== path && existsSync(known)) return false;
      this.sql('INSERT OR REPLACE INTO snapshots (diff_id, dir) VALUES (?, ?)').run(diffID, dir);
      // Known from packing it; the GC that ends a build would otherwise walk the dir to size it.
      if (diskBytes !== undefined) this.sql('INSERT OR REPLACE INTO snapshot_sizes (dir, bytes) VALUES (?, ?)').run(dir, diskBytes);
      return true;
    });
  }

  /** Deletes layer dirs that were never recorded (a failed commit) in the background, with one `rm` for all. */
  async discardLayerDirs(paths: readonly string[]): Promise<void> {
    await discardTrees(this.layout, paths);
  }

  /**
   * Keeps spare copies of layers (see recordLayerDir) until the GC or a prune sweeps them, as
   * BuildKit keeps a --no-cache step's new snapshot: deleting a tree of 10,000 files right away
   * made the next build's copy of the same files several times slower. The filesystems these
   * builds run on are often ext4 without a journal, where every new inode is allocated past the
   * inodes of its block group deleted in the last minute (five while their blocks are unwritten),
   * each read to tell; the allocator's choice of group then falls on the group just emptied.
   * Their sizes, known from packing, are recorded so the GC does not walk them to count them.
   */
  keepSpareLayerDirs(spares: readonly { path: string; diskBytes: number }[]): void {
    for (const { path, diskBytes } of spares) {
      const spare = this.layout.spareSnapshotPath();
      try {
        renameSync(path, spare);
      } catch {
        // Still the unrecorded pending dir it was: recovery removes it once this process is gone.
        continue;
      }
      try {
        this.sql('INSERT OR REPLACE INTO snapshot_sizes (dir, bytes) VALUES (?, ?)').run(basename(spare), diskBytes);
      } catch {
        // A full disk, say: the GC then measures the dir itself.
      }
    }
  }

  private snapshotDirOf(diffID: string): string | undefined {
    const row = this.sql('SELECT dir FROM snapshots WHERE diff_id = ?').get(diffID) as { dir: string } | undefined;
    return row ? this.layout.snapshotPath(row.dir) : undefined;
  }

  /** 12 hex characters keep overlay mount options short; the full hex only on a prefix clash. */
  private snapshotPathFor(diffID: string): string {
    const hex = this.layout.blobPath(diffID).slice(-64);
    const short = hex.slice(0, 12);
    const owner = this.sql('SELECT diff_id FROM snapshots WHERE dir = ?').get(short) as { diff_id: string } | undefined;
    return this.layout.snapshotPath(owner && owner.diff_id !== diffID ? hex : short);
  }

  private recordSnapshot(diffID: string, path: string): string {
    const dir = path.slice(this.layout.snapshotsDir.length + 1);
    this.sql('INSERT OR IGNORE INTO snapshots (diff_id, dir) VALUES (?, ?)').run(diffID, dir);
    return path;
  }

  // ---- cache records --------------------------------------------------------------------------

  /** Stores a build cache record; `digests` are blobs it needs, kept from GC while it exists. */
  putCacheRecord(key: string, value: unknown, digests: string[] = []): void {
    immediate(this.db, () => {
      this.sql('INSERT INTO cache_records (key, value, created_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
        .run(key, JSON.stringify(value), Date.now());
      this.sql('DELETE FROM cache_record_blobs WHERE key = ?').run(key);
      const ins = this.sql('INSERT OR IGNORE INTO cache_record_blobs (key, digest) VALUES (?, ?)');
      for (const d of digests) ins.run(key, d);
    });
  }

  getCacheRecord<T = unknown>(key: string): T | undefined {
    const row = this.sql('SELECT value FROM cache_records WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  deleteCacheRecord(key: string): void {
    immediate(this.db, () => {
      this.sql('DELETE FROM cache_records WHERE key = ?').run(key);
      this.sql('DELETE FROM cache_record_blobs WHERE key = ?').run(key);
    });
  }

  // ---- parsed Dockerfiles ----------------------------------------------------------------------

  /** A parse result remembered under `key` (solver/frontend/parse-memo.ts), as JSON. */
  getParsedDockerfile(key: string): string | undefined {
    return (this.sql('SELECT value FROM dockerfile_parses WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  /**
   * Remembers a parse result; only the PARSED_KEPT written last stay (a replaced row gets a new
   * rowid, so rowids order the writes), and the table never grows past a few MB.
   */
  putParsedDockerfile(key: string, value: string): void {
    immediate(this.db, () => {
      this.sql('INSERT OR REPLACE INTO dockerfile_parses (key, value) VALUES (?, ?)').run(key, value);
      this.sql('DELETE FROM dockerfile_parses WHERE rowid NOT IN (SELECT rowid FROM dockerfile_parses ORDER BY rowid DESC LIMIT ?)').run(PARSED_KEPT);
    });
  }

  // ---- garbage collection ---------------------------------------------------------------------

  /** Blobs nothing needs: not reachable from an image or cache record, and not held by a live session. */
  gcCandidates(): string[] {
    return this.sweepList(this.liveSet());
  }

  /** Deletes every GC candidate, inside the root's write lock so no concurrent writer races it. */
  async gc(): Promise<GcResult> {
    const files = await readdir(this.layout.blobsDir);
    return immediate(this.db, () => {
      const live = this.liveSet();
      const removed: string[] = [];
      let freedBytes = 0;
      const delBlob = this.sql('DELETE FROM blobs WHERE digest = ?');
      const delRefs = this.sql('DELETE FROM refs WHERE parent = ?');
      const rowDigests = (this.sql('SELECT digest FROM blobs').all() as { digest: string }[]).map((r) => r.digest);
      const all = new Set([...files.map((h) => `sha256:${h}`), ...rowDigests]);
      for (const digest of all) {
        if (live.has(digest) || !isDigest(digest)) continue;
        const path = this.layout.blobPath(digest);
        try {
          freedBytes += statSync(path).size;
          unlinkSync(path);
          removed.push(digest);
        } catch {
          // Already gone; only the row remains to drop.
        }
        delBlob.run(digest);
        delRefs.run(digest);
      }
      return { removed: removed.sort(), freedBytes };
    });
  }

  private sweepList(live: Set<string>): string[] {
    const rows = (this.sql('SELECT digest FROM blobs').all() as { digest: string }[]).map((r) => r.digest);
    return rows.filter((d) => !live.has(d)).sort();
  }

  private liveSet(): Set<string> {
    const live = new Set<string>();
    const q: string[] = [];
    const add = (d: string) => {
      if (!live.has(d)) {
        live.add(d);
        q.push(d);
      }
    };
    for (const r of this.sql('SELECT manifest_digest AS d FROM images UNION SELECT manifest_digest FROM tags UNION SELECT digest FROM cache_record_blobs').all() as { d: string }[]) add(r.d);
    const liveSessions = (this.sql('SELECT id, pid FROM sessions').all() as { id: string; pid: number }[]).filter((s) => processAlive(s.pid)).map((s) => s.id);
    const heldBy = this.sql('SELECT digest FROM holds WHERE session = ?');
    for (const s of liveSessions) for (const r of heldBy.all(s) as { digest: string }[]) add(r.digest);
    const children = this.sql('SELECT child FROM refs WHERE parent = ?');
    while (q.length > 0) {
      const d = q.pop()!;
      for (const r of children.all(d) as { child: string }[]) add(r.child);
    }
    return live;
  }

  // ---- locks ----------------------------------------------------------------------------------

  /**
   * Runs fn while holding the named lock of this root, exclusive across kiln processes. A lock whose
   * holder died is taken over.
   */
  async withLock<T>(name: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
    let wait = 10;
    while (!this.tryLock(name)) {
      if (Date.now() > deadline) throw new StoreBusyError(`lock "${name}" on ${this.root}`);
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 250);
    }
    try {
      return await fn();
    } finally {
      this.sql('DELETE FROM locks WHERE name = ? AND session = ?').run(name, this.session);
    }
  }

  private tryLock(name: string): boolean {
    return immediate(this.db, () => {
      const row = this.sql('SELECT l.session AS session, s.pid AS pid FROM locks l LEFT JOIN sessions s ON s.id = l.session WHERE l.name = ?').get(name) as
        | { session: string; pid: number | null }
        | undefined;
      if (row && row.pid !== null && processAlive(row.pid)) return false;
      this.sql('INSERT OR REPLACE INTO locks (name, session, acquired_at) VALUES (?, ?, ?)').run(name, this.session, Date.now());
      return true;
    });
  }

  /** Runs fn inside one SQLite write transaction on the index (the root's cross-process write lock). */
  transaction<T>(fn: () => T): T {
    return immediate(this.db, fn);
  }
}

/** When the image was made, as its config says (milliseconds), if it says so. */
function createdAt(config: ImageConfig): number | undefined {
  const t = config.created ? Date.parse(config.created) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

function manifestChildren(m: ImageManifest): string[] {
  return [m.config.digest, ...m.layers.map((l: Descriptor) => l.digest)];
}

/** How long close() keeps trying to end its session on a full disk. */
const FULL_DISK_WAIT_MS = 2_000;

/**
 * Runs `end`, again while SQLite finds the disk full and for at most FULL_DISK_WAIT_MS: the dirs
 * a failed build discards are removed by a detached `rm` (discard.ts), so the space to record the
 * session's end is often there a moment later, and then `kiln check` finds no stale session.
 */
function endSessionOnFullDisk(end: () => void): void {
  const deadline = Date.now() + FULL_DISK_WAIT_MS;
  for (;;) {
    try {
      end();
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_FULL' || Date.now() > deadline) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}
