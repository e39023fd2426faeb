import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatReference, MediaType, parseReference, RegistryClient, type Descriptor, type ImageIndex, type ImageReference, type RegistryOptionsFor } from '../../oci/index.js';
import { CacheTransferError } from './errors.js';
import { BULK_WRITE_BUFFER } from '../../common/bulk-write.js';

/** A manifest as read from a cache location, with its exact bytes' digest. */
export interface LocatedManifest {
  digest: string;
  bytes: Buffer;
  mediaType: string;
}

/**
 * Where a cache lives: a registry repository and tag, or an OCI image layout directory and a
 * `org.opencontainers.image.ref.name` in its index.json. Blobs stream both ways; nothing is
 * buffered but manifests and the cache config.
 */
export interface CacheLocation {
  /** For messages: `host/repo:tag` or `DIR (tag T)`. */
  readonly name: string;
  /** The tagged manifest, or undefined when there is none (a missing cache is not an error). */
  readManifest(): Promise<LocatedManifest | undefined>;
  readBlob(d: Descriptor, limit: number): Promise<Buffer>;
  openBlob(d: Descriptor): Readable;
  /** Stores a blob unless present; `open` is only called when it has to be sent. */
  writeBlob(d: Descriptor, open: () => Readable): Promise<void>;
  /** Points the tag at this manifest; written last, so the tag never names a partial cache. */
  writeManifest(m: LocatedManifest): Promise<void>;
  close(): Promise<void>;
}

/** Reads a small blob whole, refusing more than `limit` bytes or content that does not match its digest. */
async function collect(stream: Readable, d: Descriptor, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      stream.destroy();
      throw new CacheTransferError('E_CACHE_FORMAT', `${what} is larger than ${limit} bytes`);
    }
    parts.push(chunk);
  }
  const buf = Buffer.concat(parts);
  const got = `sha256:${createHash('sha256').update(buf).digest('hex')}`;
  if (got !== d.digest) throw new CacheTransferError('E_CACHE_FORMAT', `${what} hashes to ${got}`);
  return buf;
}

class RegistryLocation implements CacheLocation {
  readonly name: string;
  private constructor(
    private readonly ref: ImageReference,
    private readonly client: RegistryClient,
  ) {
    this.name = formatReference(ref);
  }

  static async open(ref: string, optionsFor: RegistryOptionsFor): Promise<RegistryLocation> {
    const parsed = parseReference(ref);
    return new RegistryLocation(parsed, await RegistryClient.connect(parsed.registry, optionsFor(parsed.registry)));
  }

  async readManifest(): Promise<LocatedManifest | undefined> {
    try {
      return await this.client.getManifest(this.ref.repository, this.ref.digest ?? this.ref.tag ?? 'latest');
    } catch (e) {
      if ((e as { code?: string }).code === 'E_REGISTRY_NOT_FOUND') return undefined;
      throw e;
    }
  }

  readBlob(d: Descriptor, limit: number): Promise<Buffer> {
    if (d.size > limit) throw new CacheTransferError('E_CACHE_FORMAT', `blob ${d.digest} in ${this.name} is larger than ${limit} bytes`);
    return collect(this.openBlob(d), d, limit, `blob ${d.digest} in ${this.name}`);
  }

  openBlob(d: Descriptor): Readable {
    return this.client.getBlob(this.ref.repository, d.digest, d.size);
  }

  async writeBlob(d: Descriptor, open: () => Readable): Promise<void> {
    await this.client.pushBlob(this.ref.repository, { digest: d.digest, size: d.size, open });
  }

  async writeManifest(m: LocatedManifest): Promise<void> {
    if (this.ref.tag === undefined) throw new CacheTransferError('E_CACHE_SPEC', `cannot export the cache to ${this.name}: it needs a tag, not a digest`, { hint: 'give ref=HOST/NAME:TAG' });
    await this.client.putManifest(this.ref.repository, this.ref.tag, m);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/** An OCI image layout directory, as BuildKit's type=local cache uses. */
class LayoutLocation implements CacheLocation {
  readonly name: string;
  constructor(
    private readonly dir: string,
    private readonly tag: string,
  ) {
    this.name = `${dir} (tag ${tag})`;
  }

  private blobPath(digest: string): string {
    return join(this.dir, 'blobs', ...digest.split(':'));
  }

  private async index(): Promise<ImageIndex | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'index.json'), 'utf8');
    } catch {
      return undefined;
    }
    try {
      return JSON.parse(text) as ImageIndex;
    } catch (e) {
      throw new CacheTransferError('E_CACHE_FORMAT', `${join(this.dir, 'index.json')} is not valid JSON`, { cause: e });
    }
  }

  async readManifest(): Promise<LocatedManifest | undefined> {
    const index = await this.index();
    const entries = index?.manifests ?? [];
    const d = entries.find((m) => m.annotations?.[REF_NAME] === this.tag) ?? (entries.length === 1 && !entries[0]!.annotations?.[REF_NAME] ? entries[0] : undefined);
    if (!d) return undefined;
    return { digest: d.digest, bytes: await this.readBlob(d, 4 * 1024 * 1024), mediaType: d.mediaType };
  }

  async readBlob(d: Descriptor, limit: number): Promise<Buffer> {
    return collect(this.openBlob(d), d, limit, `blob ${d.digest} in ${this.name}`);
  }

  /** Not verified here: every reader checks the digest (store writes) or the diffID (mount restores). */
  openBlob(d: Descriptor): Readable {
    const path = this.blobPath(d.digest);
    if (!existsSync(path)) throw new CacheTransferError('E_CACHE_BLOB_MISSING', `blob ${d.digest} is missing from the cache in ${this.name}`, { hint: 'export the cache again with --cache-to' });
    return createReadStream(path);
  }

  async writeBlob(d: Descriptor, open: () => Readable): Promise<void> {
    const path = this.blobPath(d.digest);
    if (existsSync(path)) return;
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await this.atomically(path, (tmp) => pipeline(open(), createWriteStream(tmp, { highWaterMark: BULK_WRITE_BUFFER })));
  }

  async writeManifest(m: LocatedManifest): Promise<void> {
    await this.writeBlob({ mediaType: m.mediaType, digest: m.digest, size: m.bytes.length }, () => Readable.from([m.bytes]));
    const index = (await this.index()) ?? { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    const others = index.manifests.filter((x) => x.annotations?.[REF_NAME] !== this.tag);
    index.manifests = [...others, { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length, annotations: { [REF_NAME]: this.tag } }];
    await writeFile(join(this.dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await this.atomically(join(this.dir, 'index.json'), (tmp) => writeFile(tmp, JSON.stringify(index)));
  }

  private async atomically(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const tmp = `${path}.kiln-${process.pid}.tmp`;
    try {
      await write(tmp);
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async close(): Promise<void> {}
}

/** Opens a registry ref or a layout directory as a cache location. */
export function openLocation(where: { type: 'registry'; ref: string } | { type: 'local'; dir: string; tag: string }, optionsFor: RegistryOptionsFor): Promise<CacheLocation> {
  return where.type === 'registry' ? RegistryLocation.open(where.ref, optionsFor) : Promise.resolve(new LayoutLocation(where.dir, where.tag));
}
