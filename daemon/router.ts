/**
 * The one route table of the API: method, path pattern, handler. Paths may carry Docker's
 * `/v1.NN` prefix. `{name}` matches the rest of the path up to the pattern's next literal
 * part, so image names with slashes and registry ports work as in Docker's router.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, notFound } from './http.js';
import type { DaemonContext } from './context.js';

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client asked for in its path, else the daemon's. */
  version: string;
}

export type Handler = (ctx: DaemonContext, r: RouteRequest) => Promise<void>;
/** A handler of a hijacked connection (`Upgrade: tcp`): it owns the socket. */
export type UpgradeHandler = (ctx: DaemonContext, r: Omit<RouteRequest, 'res'> & { socket: Duplex; head: Buffer }) => Promise<void>;

export interface Route {
  method: string;
  pattern: string;
  handler?: Handler;
  upgrade?: UpgradeHandler;
}

export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';

/**
 * The header an image export names an OCI archive's manifest in, `<media type> <digest>`: its
 * layers are compressed copies, so it is not the store's manifest, and a client's
 * --metadata-file reports this one.
 */
export const ARCHIVE_MANIFEST_HEADER = 'kiln-archive-manifest';

const VERSION_PREFIX = /^\/v(\d+\.\d+)(\/.*)$/;

interface Compiled {
  route: Route;
  regex: RegExp;
  names: string[];
}

function compile(route: Route): Compiled {
  const names: string[] = [];
  const source = route.pattern
    .split(/(\{[a-z]+\})/)
    .map((part) => {
      const m = /^\{([a-z]+)\}$/.exec(part);
      if (!m) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return '(.+?)';
    })
    .join('');
  return { route, regex: new RegExp(`^${source}$`), names };
}

function versionNumber(v: string): number {
  const [major, minor] = v.split('.').map(Number);
  return major! * 1000 + minor!;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
  version: string;
}

export class Router {
  private readonly compiled: Compiled[];

  constructor(routes: Route[]) {
    this.compiled = routes.map(compile);
  }

  /** The route for a request, or an ApiError saying what is wrong or not implemented. */
  match(method: string, rawPath: string): Match {
    let path = rawPath;
    let version = API_VERSION;
    const v = VERSION_PREFIX.exec(path);
    if (v) {
      version = v[1]!;
      path = v[2]!;
      if (versionNumber(version) > versionNumber(API_VERSION)) {
        throw new ApiError(400, 'E_API_VERSION', `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      }
      if (versionNumber(version) < versionNumber(MIN_API_VERSION)) {
        throw new ApiError(400, 'E_API_VERSION', `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}`);
      }
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      throw new ApiError(400, 'E_API_BAD_REQUEST', `malformed path ${JSON.stringify(rawPath)}`);
    }
    let pathKnown = false;
    for (const c of this.compiled) {
      const m = c.regex.exec(decoded);
      if (!m) continue;
      pathKnown = true;
      if (c.route.method !== method && !(method === 'HEAD' && c.route.method === 'GET')) continue;
      return { route: c.route, params: Object.fromEntries(c.names.map((n, i) => [n, m[i + 1]!])), version };
    }
    if (pathKnown) throw new ApiError(405, 'E_API_METHOD', `kiln does not implement ${method} ${path}`);
    throw notFound(`kiln does not implement ${method} ${path}: only a subset of the Docker Engine API is served (see docs/api.md)`);
  }
}
