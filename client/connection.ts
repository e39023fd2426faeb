/**
 * HTTP to a `kiln serve` daemon over its UNIX socket or TCP (TLS with a client certificate when
 * given the files, as docker's --tlscacert/--tlscert/--tlskey).
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { text } from 'node:stream/consumers';
import { KilnError } from '../common/errors.js';
import { defaultCaCertificates } from '../common/extra-ca.js';
import { errorFromBody } from './errors.js';
import { parseHost, type HostSpec, type TlsFiles } from '../daemon/index.js';

export interface ClientOptions {
  /** `unix:///path` or `tcp://host:port`. */
  host: string;
  tls?: Partial<TlsFiles>;
}

export class DaemonClient {
  private readonly spec: HostSpec;

  constructor(private readonly o: ClientOptions) {
    this.spec = parseHost(o.host);
  }

  private base(): RequestOptions & { ca?: Buffer | string[]; cert?: Buffer; key?: Buffer } {
    if (this.spec.kind === 'unix') return { socketPath: this.spec.path };
    const tls = this.o.tls ?? {};
    const read = (f: string | undefined, flag: string) => {
      if (f === undefined) return undefined;
      try {
        return readFileSync(f);
      } catch (cause) {
        throw new KilnError('E_CLIENT_TLS', `cannot read ${flag} ${f}: ${(cause as Error).message}`, { cause });
      }
    };
    const ca = read(tls.ca, '--tlscacert') ?? defaultCaCertificates();
    const cert = read(tls.cert, '--tlscert');
    const key = read(tls.key, '--tlskey');
    return { host: this.spec.host, port: this.spec.port, ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  }

  private get secure(): boolean {
    const t = this.o.tls;
    return this.spec.kind === 'tcp' && Boolean(t && (t.ca ?? t.cert ?? t.key));
  }

  /**
   * Sends one request and resolves with the response once its headers arrive. A non-2xx answer
   * becomes a KilnError carrying the daemon's message.
   */
  async request(method: string, path: string, body?: Readable | string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (this.secure ? httpsRequest : httpRequest)({ ...this.base(), method, path, headers }, resolve);
      req.on('error', (e) => reject(this.unreachable(e)));
      if (body === undefined || typeof body === 'string') req.end(body);
      else pipeline(body, req).catch((e: unknown) => reject(this.unreachable(e)));
    });
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw errorFromBody(status, await text(res).catch(() => ''), this.o.host);
    return res;
  }

  /** A hijacked connection (Docker's attach): the raw socket once the daemon has answered 101. */
  upgrade(path: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const req = (this.secure ? httpsRequest : httpRequest)({ ...this.base(), method: 'POST', path, headers: { Connection: 'Upgrade', Upgrade: 'tcp' } });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        text(res).then((raw) => reject(errorFromBody(res.statusCode ?? 0, raw, this.o.host)), reject);
      });
      req.on('error', (e) => reject(this.unreachable(e)));
      req.end();
    });
  }

  /** A streamed answer (an archive): the body, failing with a KilnError if the daemon cuts it short. */
  async download(method: string, path: string, onHeaders?: (headers: IncomingHttpHeaders) => void): Promise<Readable> {
    const res = await this.request(method, path);
    onHeaders?.(res.headers);
    const out = new PassThrough();
    pipeline(res, out).catch((e: unknown) => {
      out.destroy(new KilnError('E_DAEMON_STREAM', `the kiln daemon at ${this.o.host} ended the transfer early: ${(e as Error).message}`, { cause: e, hint: "see the daemon's log" }));
    });
    return out;
  }

  async json<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? headers : { 'Content-Type': 'application/json', ...headers });
    return JSON.parse(await text(res)) as T;
  }

  private unreachable(e: unknown): KilnError {
    if (e instanceof KilnError) return e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const message = (e as Error).message;
    const tlsTrouble = this.spec.kind === 'tcp' && (code === 'ECONNRESET' || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /SSL|certificate/i.test(message));
    const hint =
      code === 'EACCES'
        ? 'you may not use this socket: run as root or as a member of the daemon\'s group (kiln serve --group)'
        : tlsTrouble
          ? 'a TLS daemon needs --tlscacert (its CA) and a client certificate it trusts (--tlscert, --tlskey)'
          : `start one with \`kiln serve --host ${this.o.host}\`, or drop --host / KILN_HOST to work without a daemon`;
    return new KilnError('E_DAEMON_UNREACHABLE', `cannot reach the kiln daemon at ${this.o.host}: ${message.trim()}`, { cause: e, hint });
  }
}
