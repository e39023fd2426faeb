import { readFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { fileError } from '../../common/file-errors.js';
import { RegistryError } from './errors.js';
import { loadUndici } from './undici.js';
import { tls } from '../../common/builtins.js';
import { defaultCaCertificates } from '../../common/extra-ca.js';

/** How to reach registries: which may skip TLS checks, and which CA to trust. */
export interface TransportOptions {
  /** `host[:port]` of registries reached without TLS verification (HTTPS first, then plain HTTP). */
  insecureRegistries?: string[];
  /** PEM bundle trusted in addition to the system CAs; it also makes loopback registries use HTTPS. */
  caFile?: string;
  /** Per-registry settings, as in `ROOT/registries.json`: `{ "host:port": { "insecure": true, "caFile": "..." } }`. */
  registries?: Record<string, { insecure?: boolean; caFile?: string }>;
}

/** Where a registry's API lives and the pooled dispatcher to use for it. */
export interface Endpoint {
  registry: string;
  /** Scheme and host, e.g. `https://registry-1.docker.io`. */
  origins: string[];
  dispatcher: Dispatcher;
}

function hostOnly(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const colon = registry.lastIndexOf(':');
  return colon === -1 ? registry : registry.slice(0, colon);
}

export function isLoopback(registry: string): boolean {
  const host = hostOnly(registry);
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Reads `ROOT/registries.json` if present. */
export async function readRegistriesConfig(path: string): Promise<TransportOptions['registries']> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw fileError(err, 'read', path);
  }
  try {
    return JSON.parse(text) as TransportOptions['registries'];
  } catch (err) {
    throw new RegistryError('E_REGISTRY_CONFIG', `${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * One pooled undici Agent per registry, with redirects followed (blob GETs are often sent on to
 * object storage; undici drops the Authorization header when the origin changes).
 * Insecure registries are tried over HTTPS without verification, then HTTP; other loopback
 * registries speak plain HTTP unless a CA is given; everything else is HTTPS.
 */
export async function resolveEndpoint(registry: string, options: TransportOptions): Promise<Endpoint> {
  const own = options.registries?.[registry] ?? {};
  const caFile = own.caFile ?? options.caFile;
  const insecure = own.insecure === true || (options.insecureRegistries ?? []).includes(registry);
  // A CA file given replaces the default list, as Node's `ca` option does NODE_EXTRA_CA_CERTS.
  let ca = defaultCaCertificates();
  if (caFile) {
    try {
      ca = [...tls().rootCertificates, await readFile(caFile, 'utf8')];
    } catch (err) {
      throw new RegistryError('E_REGISTRY_CONFIG', `cannot read CA file ${caFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
  let origins: string[];
  if (insecure) origins = [`https://${host}`, `http://${host}`];
  else if (isLoopback(registry) && !caFile) origins = [`http://${host}`];
  else origins = [`https://${host}`];
  // undici is loaded on first use: most kiln commands never talk to a registry.
  const { Agent, interceptors } = await loadUndici();
  const agent = new Agent({
    connect: { ...(ca ? { ca } : {}), rejectUnauthorized: !insecure },
    keepAliveTimeout: 30_000,
  });
  return { registry, origins, dispatcher: agent.compose(interceptors.redirect({ maxRedirections: 5 })) };
}
