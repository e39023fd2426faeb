import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { createDurableFile, discardPartialFile } from '../../common/durable-file.js';
import { MediaType } from '../image/index.js';
import { parseChallenges, type Challenge } from './auth.js';
import { getCredentials, type Credentials } from './docker-config.js';
import { resolveEndpoint, type Endpoint, type TransportOptions } from './endpoint.js';
import { describeErrorBody, networkError, parseErrorBody, RegistryError } from './errors.js';
import { hasBlobSubscribers, publishBlob } from './progress.js';
import { loadUndici } from './undici.js';
import { backoffDelay, DEFAULT_RETRY, isRetryable, withRetry, type RetryPolicy } from './retry.js';

export interface ClientOptions extends TransportOptions {
  /** Environment for DOCKER_CONFIG / HOME lookups of saved credentials. */
  env?: NodeJS.ProcessEnv;
  /** Use these instead of the docker config (kiln login checks them this way); null means anonymous. */
  credentials?: Credentials | null;
  retry?: RetryPolicy;
  /** Blobs larger than this are uploaded in chunks of `chunkSize` (PATCH), smaller ones in one PUT. */
  chunkThreshold?: number;
  chunkSize?: number;
}

/** Client options by registry host: one build may reach several registries, each with its own credentials. */
export type RegistryOptionsFor = (registry: string) => ClientOptions;

/** A manifest or index exactly as the registry served it (its digest covers these bytes). */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface BlobSource {
  digest: string;
  size: number;
  /** Opens the blob's content from the start; called again on each retry. */
  open: () => Readable;
}

export type BlobPushResult = 'exists' | 'mounted' | 'uploaded';

/**
 * What a client for the same registry in another thread needs to skip the ping and the token
 * request this one already made: the origin that answered, the auth challenge, current tokens,
 * and the credentials found (so it does not run a credential helper again).
 */
export interface ClientSession {
  origin: string;
  challenge: Challenge | undefined;
  tokens: [string, { value: string; expires: number }][];
  credentials?: Credentials | null;
}

interface SendOptions {
  scopes: string[];
  headers?: Record<string, string>;
  /** A Buffer can be re-sent after an auth challenge; a stream cannot. */
  body?: Buffer | AsyncIterable<Buffer>;
  ok: number[];
  /** What the request was about, for error messages: `manifest host/repo:tag`. */
  what: string;
}

const MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(', ');
const MAX_MANIFEST = 4 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;
const TOKEN_MARGIN_MS = 10_000;

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new RegistryError('E_REGISTRY_PROTOCOL', `response larger than ${limit} bytes`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Moves a response body into `out` in flowing mode, so chunks pass on as received (an async
 * iterator would concatenate whatever is buffered), pausing while `out` is full.
 */
function forward(body: Dispatcher.ResponseData['body'], out: Writable, map: (chunk: Buffer) => Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onClose = () => fail(new RegistryError('E_REGISTRY_ABORTED', 'the blob consumer stopped reading'));
    const fail = (err: unknown) => {
      out.off('close', onClose);
      body.destroy();
      reject(err);
    };
    out.once('close', onClose);
    body.on('data', (raw: Buffer) => {
      let chunk: Buffer;
      try {
        chunk = map(raw);
      } catch (err) {
        fail(err);
        return;
      }
      if (chunk.length > 0 && !out.write(chunk)) {
        body.pause();
        out.once('drain', () => body.resume());
      }
    });
    body.once('error', (err) => {
      out.off('close', onClose);
      reject(err);
    });
    body.once('end', () => {
      out.off('close', onClose);
      resolve();
    });
  });
}

/** Takes exact byte counts from one stream, so a blob can be cut into upload chunks without copying it whole. */
class ByteReader {
  private pending: Buffer | undefined;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  async *take(n: number): AsyncGenerator<Buffer> {
    while (n > 0) {
      let buf = this.pending;
      this.pending = undefined;
      if (!buf) {
        const next = await this.source.next();
        if (next.done) throw new RegistryError('E_REGISTRY_PROTOCOL', 'blob content ended before its declared size');
        buf = next.value;
      }
      if (buf.length > n) {
        this.pending = buf.subarray(n);
        buf = buf.subarray(0, n);
      }
      n -= buf.length;
      yield buf;
    }
  }
}

/**
 * A client for one registry (Distribution API v2). One pooled dispatcher; auth (challenge,
 * token per scope set, retry once), retries with backoff and redirects are layered around it.
 */
export class RegistryClient {
  private origin: string | undefined;
  private challenge: Challenge | undefined;
  private pinged: Promise<void> | undefined;
  private readonly tokens = new Map<string, Promise<{ value: string; expires: number }>>();
  private credentials: Promise<Credentials | undefined> | undefined;
  private readonly retry: RetryPolicy;

  private constructor(
    readonly registry: string,
    private readonly endpoint: Endpoint,
    private readonly options: ClientOptions,
  ) {
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  static async connect(registry: string, options: ClientOptions = {}): Promise<RegistryClient> {
    return new RegistryClient(registry, await resolveEndpoint(registry, options), options);
  }

  async close(): Promise<void> {
    await this.endpoint.dispatcher.close();
  }

  /** Pings and authorises for `scopes` (once), and says how another client can carry on from here (`adopt`). */
  async session(scopes: string[]): Promise<ClientSession> {
    await this.ping();
    await this.authHeader(scopes, false);
    const tokens: ClientSession['tokens'] = [];
    for (const [key, pending] of this.tokens) {
      const token = await pending.catch(() => undefined);
      if (token) tokens.push([key, token]);
    }
    const s: ClientSession = { origin: this.origin!, challenge: this.challenge, tokens };
    if (this.challenge) s.credentials = (await this.getCreds()) ?? null;
    return s;
  }

  /** Starts from another client's `session()`: a token that expires is fetched again as usual. */
  adopt(s: ClientSession): void {
    this.origin = s.origin;
    this.challenge = s.challenge;
    this.pinged = Promise.resolve();
    for (const [key, token] of s.tokens) this.tokens.set(key, Promise.resolve(token));
  }

  private getCreds(): Promise<Credentials | undefined> {
    if (this.options.credentials !== undefined) return Promise.resolve(this.options.credentials ?? undefined);
    this.credentials ??= getCredentials(this.registry, this.options.env);
    return this.credentials;
  }

  private async raw(method: Dispatcher.HttpMethod, url: string, headers: Record<string, string>, body?: Buffer | AsyncIterable<Buffer>) {
    try {
      const payload = body === undefined || Buffer.isBuffer(body) ? body : Readable.from(body);
      const { request } = await loadUndici();
      return await request(url, { method, headers: { 'user-agent': 'kiln', ...headers }, body: payload, dispatcher: this.endpoint.dispatcher });
    } catch (err) {
      throw networkError(err, this.registry, url);
    }
  }

  /**
   * `GET /v2/`: finds the scheme that works and the auth challenge, once per client. Not retried
   * here: every operation that needs it already retries as a whole.
   */
  ping(): Promise<void> {
    this.pinged ??= this.doPing().catch((err) => {
      this.pinged = undefined;
      throw err;
    });
    return this.pinged;
  }

  private async doPing(): Promise<void> {
    let lastErr: unknown;
    for (const origin of this.endpoint.origins) {
      let res: Dispatcher.ResponseData;
      try {
        res = await this.raw('GET', `${origin}/v2/`, {});
      } catch (err) {
        lastErr = err;
        continue;
      }
      const text = (await readLimited(res.body, MAX_ERROR_BODY)).toString('utf8');
      if (res.statusCode === 400 && origin.startsWith('http:') && /HTTPS server/i.test(text)) {
        throw new RegistryError('E_REGISTRY_TLS', `registry ${this.registry} serves HTTPS, but kiln spoke plain HTTP to it (the default for loopback registries)`, {
          status: 400,
          hint: `pass --ca-file CA.pem to use HTTPS with it, or --insecure-registry ${this.registry} to skip verification (unsafe)`,
        });
      }
      if (res.statusCode === 200 || res.statusCode === 401) {
        this.origin = origin;
        const www = header(res, 'www-authenticate');
        if (res.statusCode === 401 && www) this.challenge = pickChallenge(parseChallenges(www));
        return;
      }
      if (res.statusCode >= 500) {
        throw new RegistryError('E_REGISTRY_SERVER', `registry ${this.registry} answered ${res.statusCode} to GET /v2/`, {
          status: res.statusCode,
          retryable: true,
        });
      }
      throw new RegistryError('E_REGISTRY_PROTOCOL', `${origin} does not look like a registry (GET /v2/ answered ${res.statusCode})`, {
        status: res.statusCode,
        hint: 'check the registry host and port in the image reference',
      });
    }
    throw lastErr;
  }

  /** Checks that the credentials in use are accepted (what `kiln login` verifies). */
  checkLogin(): Promise<void> {
    return withRetry(this.retry, async () => {
      const res = await this.send('GET', '/v2/', { scopes: [], ok: [200], what: `registry ${this.registry}` });
      await res.body.dump();
    });
  }

  private async describeCreds(): Promise<string> {
    try {
      const c = await this.getCreds();
      if (!c) return 'no credentials were found (anonymous access)';
      return c.identityToken ? `tried an identity token from ${c.source}` : `tried user "${c.username}" from ${c.source}`;
    } catch (err) {
      return (err as Error).message;
    }
  }

  private async authHeader(scopes: string[], fresh: boolean): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      const c = await this.getCreds();
      if (!c) {
        throw new RegistryError('E_REGISTRY_UNAUTHORIZED', `unauthorized: registry ${this.registry} requires a login; ${await this.describeCreds()}`, {
          status: 401,
          hint: `log in with: kiln login ${this.registry}`,
        });
      }
      return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
    }
    const key = [...scopes].sort().join(' ');
    const cached = this.tokens.get(key);
    if (!fresh && cached) {
      // Concurrent requests for the same scopes share one token request.
      const token = await cached.catch(() => undefined);
      if (token && token.expires > Date.now() + TOKEN_MARGIN_MS) return token.value;
    }
    const pending = this.fetchToken(ch, scopes);
    this.tokens.set(key, pending);
    pending.catch(() => this.tokens.get(key) === pending && this.tokens.delete(key));
    return (await pending).value;
  }

  /** The token flow of the distribution auth spec: GET the realm (Basic auth if we have credentials), or POST a refresh token. */
  private async fetchToken(ch: Challenge, scopes: string[]): Promise<{ value: string; expires: number }> {
    const realm = ch.params.realm;
    if (!realm) throw new RegistryError('E_REGISTRY_PROTOCOL', `registry ${this.registry} sent a Bearer challenge without a realm`);
    const creds = await this.getCreds();
    const url = new URL(realm);
    let res: Dispatcher.ResponseData;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'kiln' });
      if (ch.params.service) form.set('service', ch.params.service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await this.raw('POST', url.toString(), { 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from(form.toString()));
    } else {
      if (ch.params.service) url.searchParams.set('service', ch.params.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds) {
        url.searchParams.set('account', creds.username);
        headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      }
      res = await this.raw('GET', url.toString(), headers);
    }
    const text = (await readLimited(res.body, MAX_MANIFEST)).toString('utf8');
    if (res.statusCode === 401 || res.statusCode === 403) {
      const detail = describeErrorBody(parseErrorBody(text)) || text.trim().slice(0, 200);
      throw new RegistryError('E_REGISTRY_UNAUTHORIZED', `the token service ${url.origin} refused the login for ${this.registry}${detail ? `: ${detail}` : ''} (${await this.describeCreds()})`, {
        status: res.statusCode,
        errors: parseErrorBody(text),
        hint: `check the user and password, then run: kiln login ${this.registry}`,
      });
    }
    if (res.statusCode !== 200) {
      throw new RegistryError('E_REGISTRY_SERVER', `the token service ${url.origin} answered ${res.statusCode}: ${text.trim().slice(0, 200)}`, {
        status: res.statusCode,
        retryable: res.statusCode >= 500,
      });
    }
    const body = JSON.parse(text) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError('E_REGISTRY_PROTOCOL', `the token service ${url.origin} returned no token`);
    // The spec's default lifetime is 60s when expires_in is absent.
    return { value: `Bearer ${token}`, expires: Date.now() + (body.expires_in ?? 60) * 1000 };
  }

  private url(pathOrUrl: string): string {
    return new URL(pathOrUrl, this.origin).toString();
  }

  private async send(method: Dispatcher.HttpMethod, pathOrUrl: string, o: SendOptions): Promise<Dispatcher.ResponseData> {
    await this.ping();
    const url = this.url(pathOrUrl);
    for (let attempt = 0; ; attempt++) {
      const auth = await this.authHeader(o.scopes, attempt > 0);
      const res = await this.raw(method, url, { ...o.headers, ...(auth ? { authorization: auth } : {}) }, o.body);
      const replayable = o.body === undefined || Buffer.isBuffer(o.body);
      if (res.statusCode === 401 && attempt === 0 && replayable) {
        await res.body.dump();
        const www = header(res, 'www-authenticate');
        if (www) this.challenge = pickChallenge(parseChallenges(www)) ?? this.challenge;
        if (this.challenge) continue;
      }
      if (o.ok.includes(res.statusCode)) return res;
      throw await this.failure(res, method, o.what);
    }
  }

  private async failure(res: Dispatcher.ResponseData, method: string, what: string): Promise<RegistryError> {
    let errors: ReturnType<typeof parseErrorBody> = [];
    if (method !== 'HEAD') {
      try {
        errors = parseErrorBody((await readLimited(res.body, MAX_ERROR_BODY)).toString('utf8'));
      } catch {
        errors = [];
      }
    } else {
      await res.body.dump();
    }
    const said = describeErrorBody(errors);
    const suffix = said ? ` (registry said: ${said})` : '';
    const status = res.statusCode;
    const base = { status, errors };
    if (status === 401) {
      return new RegistryError('E_REGISTRY_UNAUTHORIZED', `unauthorized: ${what}${suffix}; ${await this.describeCreds()}`, {
        ...base,
        hint: `log in with: kiln login ${this.registry}`,
      });
    }
    if (status === 403) {
      return new RegistryError('E_REGISTRY_DENIED', `access denied: ${what}${suffix}; ${await this.describeCreds()}`, {
        ...base,
        hint: 'the account has no permission for this repository',
      });
    }
    if (status === 404) return new RegistryError('E_REGISTRY_NOT_FOUND', `not found: ${what}${suffix}`, base);
    if (status === 429) {
      return new RegistryError('E_REGISTRY_RATE_LIMITED', `registry ${this.registry} is rate limiting requests (${what})${suffix}`, {
        ...base,
        retryable: true,
        hint: 'wait a while, or log in to get a higher limit',
      });
    }
    if (status >= 500) {
      return new RegistryError('E_REGISTRY_SERVER', `registry ${this.registry} failed (${status}) on ${method} ${what}${suffix}`, {
        ...base,
        retryable: true,
      });
    }
    return new RegistryError('E_REGISTRY_PROTOCOL', `registry ${this.registry} answered ${status} to ${method} ${what}${suffix}`, base);
  }

  /** GET a manifest or index by tag or digest, checking its digest. */
  getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const what = `manifest ${this.registry}/${repository}${reference.includes(':') ? '@' : ':'}${reference}`;
    return withRetry(this.retry, async () => {
      const res = await this.send('GET', `/v2/${repository}/manifests/${reference}`, {
        scopes: [`repository:${repository}:pull`],
        headers: { accept: MANIFEST_ACCEPT },
        ok: [200],
        what,
      });
      const bytes = await readLimited(res.body, MAX_MANIFEST);
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      if (reference.startsWith('sha256:') && reference !== digest) {
        throw new RegistryError('E_REGISTRY_DIGEST_MISMATCH', `${what}: the registry sent content with digest ${digest}`);
      }
      const served = header(res, 'docker-content-digest');
      if (served?.startsWith('sha256:') && served !== digest) {
        throw new RegistryError('E_REGISTRY_DIGEST_MISMATCH', `${what}: Docker-Content-Digest says ${served} but the content hashes to ${digest}`);
      }
      let mediaType = (header(res, 'content-type') ?? '').split(';')[0]!.trim();
      const declared = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string; schemaVersion?: number }).mediaType;
      if (declared) mediaType = declared;
      return { bytes, mediaType, digest };
    });
  }

  /** Size of a blob in the repository, or undefined when it is not there. */
  statBlob(repository: string, digest: string): Promise<number | undefined> {
    return withRetry(this.retry, () => this.headBlob(repository, digest, false));
  }

  private async headBlob(repository: string, digest: string, push: boolean): Promise<number | undefined> {
    const res = await this.send('HEAD', `/v2/${repository}/blobs/${digest}`, {
      scopes: [`repository:${repository}:${push ? 'pull,push' : 'pull'}`],
      ok: [200, 404],
      what: `blob ${digest} in ${this.registry}/${repository}`,
    });
    await res.body.dump();
    return res.statusCode === 200 ? Number(header(res, 'content-length') ?? 0) : undefined;
  }

  /**
   * Streams a blob, verifying its size and digest as it goes. When the connection breaks part
   * way, the rest is requested with `Range: bytes=N-` (skipping N bytes if the registry ignores
   * the range), so nothing already received is fetched twice.
   */
  getBlob(repository: string, digest: string, size: number): Readable {
    // A few MiB of slack so the socket is not paused for every 64 KiB chunk the disk has not taken yet.
    const out = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
    this.fetchBlob(repository, digest, size, out).then(
      () => out.end(),
      (err: unknown) => out.destroy(err as Error),
    );
    return out;
  }

  /**
   * Downloads a blob into a new file at `path` (fsynced before this resolves), hashing as it
   * arrives: the socket's chunks go to the file stream with no stream between them (getBlob's
   * PassThrough and a hashing Transform cost ~10% of a 512 MiB pull's CPU, all of it on the
   * thread that reads the socket). `received` runs once the last byte is in, before the fsync.
   */
  async downloadBlob(repository: string, digest: string, size: number, path: string, received?: () => void): Promise<{ digest: string; size: number }> {
    const file = createDurableFile(path);
    // A failed write (a full disk) closes the file, which the download sees as its reader gone.
    let writeError: unknown;
    file.on('error', (e) => (writeError ??= e));
    try {
      await this.fetchBlob(repository, digest, size, file);
      received?.();
      await finished(file.end());
    } catch (e) {
      // Taken before destroy(), whose own errors for writes still pending are no cause.
      const cause = writeError ?? e;
      file.destroy();
      throw await discardPartialFile(path, cause);
    }
    return { digest, size };
  }

  private async fetchBlob(repository: string, digest: string, size: number, out: Writable): Promise<void> {
    const what = `blob ${digest} in ${this.registry}/${repository}`;
    const event = { direction: 'pull' as const, registry: this.registry, repository, digest, size };
    const hash = createHash('sha256');
    let received = 0;
    let failures = 0;
    publishBlob({ ...event, transferred: 0, state: 'start' });
    for (let complete = false; !complete; ) {
      const resuming = received > 0;
      let res: Dispatcher.ResponseData;
      try {
        res = await this.send('GET', `/v2/${repository}/blobs/${digest}`, {
          scopes: [`repository:${repository}:pull`],
          headers: resuming ? { range: `bytes=${received}-` } : {},
          ok: [200, 206],
          what,
        });
      } catch (err) {
        if (!isRetryable(err) || ++failures >= this.retry.attempts) throw err;
        await sleep(backoffDelay(this.retry, failures));
        continue;
      }
      if (resuming) publishBlob({ ...event, transferred: received, state: 'resume' });
      let skip = resuming && res.statusCode === 200 ? received : 0;
      try {
        await forward(res.body, out, (raw) => {
          let chunk = raw;
          if (skip > 0) {
            const n = Math.min(skip, chunk.length);
            skip -= n;
            chunk = chunk.subarray(n);
          }
          received += chunk.length;
          if (received > size) throw new RegistryError('E_REGISTRY_DIGEST_MISMATCH', `${what}: the registry sent more than the expected ${size} bytes`);
          hash.update(chunk);
          // Per 64 KiB chunk: the event object only for someone listening.
          if (hasBlobSubscribers()) publishBlob({ ...event, transferred: received, state: 'progress' });
          return chunk;
        });
      } catch (err) {
        if (err instanceof RegistryError && !err.retryable) throw err;
        const e = networkError(err, this.registry, this.url(`/v2/${repository}/blobs/${digest}`));
        if (!e.retryable || out.destroyed || ++failures >= this.retry.attempts) throw e;
        await sleep(backoffDelay(this.retry, failures));
        continue;
      }
      complete = received === size;
      if (!complete && ++failures >= this.retry.attempts) {
        throw new RegistryError('E_REGISTRY_PROTOCOL', `${what}: the registry sent ${received} of ${size} bytes`, { retryable: true });
      }
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== digest) {
      throw new RegistryError('E_REGISTRY_DIGEST_MISMATCH', `${what}: the registry sent content that does not match the digest (content has digest ${got})`, {
        hint: 'the registry, or a proxy or cache between it and this machine, altered the data; nothing of it was kept. Try again; if it persists, tell whoever runs the registry',
      });
    }
    publishBlob({ ...event, transferred: received, state: 'done' });
  }

  /**
   * Uploads a blob unless the repository has it: cross-repository mount from `mountFrom` when
   * the registry allows, else one streamed PUT, or PATCH chunks for big blobs. Retried whole with
   * backoff; an unfinished upload session is never completed, so the registry keeps nothing partial.
   */
  pushBlob(repository: string, blob: BlobSource, mountFrom: string[] = []): Promise<BlobPushResult> {
    const what = `blob ${blob.digest} in ${this.registry}/${repository}`;
    const event = { direction: 'push' as const, registry: this.registry, repository, digest: blob.digest, size: blob.size };
    return withRetry(this.retry, async () => {
      if ((await this.headBlob(repository, blob.digest, true)) !== undefined) {
        publishBlob({ ...event, transferred: blob.size, state: 'exists' });
        return 'exists';
      }
      const push = `repository:${repository}:pull,push`;
      let location: string | undefined;
      for (const from of mountFrom.filter((r) => r !== repository).slice(0, 1)) {
        const q = new URLSearchParams({ mount: blob.digest, from });
        const res = await this.send('POST', `/v2/${repository}/blobs/uploads/?${q}`, {
          scopes: [push, `repository:${from}:pull`],
          ok: [201, 202],
          what,
        });
        await res.body.dump();
        if (res.statusCode === 201) {
          publishBlob({ ...event, transferred: blob.size, state: 'mounted' });
          return 'mounted';
        }
        location = header(res, 'location');
      }
      if (!location) {
        const res = await this.send('POST', `/v2/${repository}/blobs/uploads/`, { scopes: [push], ok: [202], what });
        await res.body.dump();
        location = header(res, 'location');
      }
      if (!location) throw new RegistryError('E_REGISTRY_PROTOCOL', `${what}: upload started without a Location`);
      publishBlob({ ...event, transferred: 0, state: 'start' });
      let sent = 0;
      const source = blob.open();
      try {
        await this.upload(repository, location, source, blob, what, (n) => {
          sent += n;
          publishBlob({ ...event, transferred: sent, state: 'progress' });
        });
      } finally {
        source.destroy();
      }
      publishBlob({ ...event, transferred: blob.size, state: 'done' });
      return 'uploaded';
    });
  }

  private async upload(repository: string, location: string, source: Readable, blob: BlobSource, what: string, progress: (n: number) => void): Promise<void> {
    const push = `repository:${repository}:pull,push`;
    const reader = new ByteReader(source[Symbol.asyncIterator]());
    const counted = async function* (part: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of part) {
        progress(chunk.length);
        yield chunk;
      }
    };
    const threshold = this.options.chunkThreshold ?? 1024 * 1024 * 1024;
    const chunkSize = this.options.chunkSize ?? 128 * 1024 * 1024;
    const finish = (loc: string) => {
      const u = new URL(loc, this.origin);
      u.searchParams.set('digest', blob.digest);
      return u.toString();
    };
    if (blob.size <= threshold) {
      const res = await this.send('PUT', finish(location), {
        scopes: [push],
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
        body: counted(reader.take(blob.size)),
        ok: [201],
        what,
      });
      await res.body.dump();
    } else {
      for (let start = 0; start < blob.size; start += chunkSize) {
        const n = Math.min(chunkSize, blob.size - start);
        const res = await this.send('PATCH', location, {
          scopes: [push],
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(n),
            'content-range': `${start}-${start + n - 1}`,
          },
          body: counted(reader.take(n)),
          ok: [202],
          what,
        });
        await res.body.dump();
        location = header(res, 'location') ?? location;
      }
      const res = await this.send('PUT', finish(location), { scopes: [push], headers: { 'content-length': '0' }, ok: [201], what });
      await res.body.dump();
    }
  }

  /** PUT a manifest under a tag (or its digest); returns the digest the registry recorded. */
  putManifest(repository: string, reference: string, manifest: FetchedManifest): Promise<string> {
    const what = `manifest ${this.registry}/${repository}:${reference}`;
    return withRetry(this.retry, async () => {
      const res = await this.send('PUT', `/v2/${repository}/manifests/${reference}`, {
        scopes: [`repository:${repository}:pull,push`],
        headers: { 'content-type': manifest.mediaType },
        body: manifest.bytes,
        ok: [201],
        what,
      });
      await res.body.dump();
      const recorded = header(res, 'docker-content-digest');
      if (recorded && recorded !== manifest.digest) {
        throw new RegistryError('E_REGISTRY_DIGEST_MISMATCH', `${what}: the registry recorded ${recorded}, kiln sent ${manifest.digest}`);
      }
      return manifest.digest;
    });
  }
}

/** Bearer is preferred when a registry offers both. */
function pickChallenge(list: Challenge[]): Challenge | undefined {
  return list.find((c) => c.scheme === 'bearer') ?? list.find((c) => c.scheme === 'basic');
}
