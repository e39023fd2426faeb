import { KilnError } from '../../common/errors.js';

/** One entry of a registry's JSON error body (`{"errors":[{"code","message","detail"}]}`). */
export interface RegistryErrorBody {
  code: string;
  message: string;
  detail?: unknown;
}

export interface RegistryErrorOptions {
  cause?: unknown;
  hint?: string;
  /** HTTP status, when the registry answered at all. */
  status?: number;
  errors?: RegistryErrorBody[];
  /** Whether trying the same operation again may succeed (5xx, 429, dropped connections). */
  retryable?: boolean;
}

/**
 * Stable codes: E_REGISTRY_UNAUTHORIZED, E_REGISTRY_DENIED, E_REGISTRY_NOT_FOUND, E_REGISTRY_TLS,
 * E_REGISTRY_UNREACHABLE, E_REGISTRY_DIGEST_MISMATCH, E_REGISTRY_SERVER, E_REGISTRY_PROTOCOL,
 * E_REGISTRY_PLATFORM, E_REGISTRY_UNSUPPORTED, E_REGISTRY_CREDENTIALS, E_REGISTRY_CONFIG,
 * E_REGISTRY_RATE_LIMITED, E_REGISTRY_ABORTED, E_REGISTRY_PUSH_TARGET.
 */
export class RegistryError extends KilnError {
  readonly status: number | undefined;
  readonly errors: RegistryErrorBody[];
  readonly retryable: boolean;

  constructor(code: string, message: string, options: RegistryErrorOptions = {}) {
    super(code, message, { cause: options.cause, hint: options.hint });
    this.status = options.status;
    this.errors = options.errors ?? [];
    this.retryable = options.retryable ?? false;
  }
}

/** Parses a registry error body; anything that is not the documented shape yields no entries. */
export function parseErrorBody(text: string): RegistryErrorBody[] {
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
      .map((e) => ({ code: String(e.code ?? 'UNKNOWN'), message: String(e.message ?? ''), detail: e.detail }));
  } catch {
    return [];
  }
}

/** `UNAUTHORIZED: authentication required` for each entry, joined; empty when there are none. */
export function describeErrorBody(errors: RegistryErrorBody[]): string {
  return errors.map((e) => (e.message ? `${e.code}: ${e.message}` : e.code)).join('; ');
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

const RETRYABLE_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    // AggregateError (happy-eyeballs connect) carries the real reasons in `errors`.
    const nested = (e as { errors?: unknown[] }).errors;
    if (Array.isArray(nested)) for (const n of nested) codes.push(...errorCodes(n));
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** Turns a network-level failure talking to `registry` into the RegistryError a user should see. */
export function networkError(err: unknown, registry: string, url: string): RegistryError {
  if (err instanceof RegistryError) return err;
  const codes = errorCodes(err);
  const reason = (err as Error)?.message ?? String(err);
  if (codes.some((c) => TLS_CODES.has(c) || c.startsWith('ERR_TLS') || c.startsWith('ERR_SSL') || c.startsWith('CERT_'))) {
    return new RegistryError('E_REGISTRY_TLS', `TLS connection to ${registry} failed: ${reason}`, {
      cause: err,
      hint: `if ${registry} uses a private CA pass --ca-file CA.pem; to skip verification (unsafe) pass --insecure-registry ${registry}`,
    });
  }
  if (codes.includes('ENOTFOUND')) {
    return new RegistryError('E_REGISTRY_UNREACHABLE', `registry ${registry} not found: cannot resolve host`, {
      cause: err,
      hint: 'check the registry name in the image reference',
    });
  }
  return new RegistryError('E_REGISTRY_UNREACHABLE', `registry ${registry} is unreachable (${url}): ${reason}`, {
    cause: err,
    retryable: codes.length === 0 || codes.some((c) => RETRYABLE_CONNECTION_CODES.has(c)),
    hint: 'check that the registry is running and reachable from this machine',
  });
}
