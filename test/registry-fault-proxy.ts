/**
 * Test helper: an HTTP proxy on 127.0.0.1 in front of a real registry that injects faults into
 * chosen requests: error statuses, connections reset or cut cleanly part way through a body
 * (either direction), a byte altered in a response body, and stalls. Everything else is passed
 * through unchanged, Host header included, so the registry's Location URLs point at the proxy.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  /** Answer with this status and a registry-style error body; the registry never sees the request. */
  | { kind: 'status'; status: number }
  /** Response: send `afterBytes` of the body, then reset the connection (RST). */
  | { kind: 'reset'; afterBytes: number }
  /** Response: send `afterBytes` of the body, then close the connection cleanly (FIN) short of Content-Length. */
  | { kind: 'truncate'; afterBytes: number }
  /** Response: invert the byte at offset `at` of the body; length and headers unchanged. */
  | { kind: 'corrupt'; at: number }
  /** Response: send `afterBytes` of the body, wait `ms`, then send the rest. */
  | { kind: 'stall'; afterBytes: number; ms: number }
  /** Request: reset the client's connection once `afterBytes` of its request body have arrived. */
  | { kind: 'reset-upload'; afterBytes: number };

export interface FaultRule {
  method?: string;
  /** Matched against the request path and query. */
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault (default 1; Infinity for all). */
  times?: number;
}

export interface ProxiedRequest {
  method: string;
  url: string;
  range: string | undefined;
  /** The fault applied to it, if any. */
  fault: Fault['kind'] | undefined;
}

export interface FaultProxy {
  /** `127.0.0.1:PORT`, to use as the registry in image references. */
  host: string;
  /** Every request seen, in arrival order. */
  requests: ProxiedRequest[];
  /** Adds rules; the first rule with uses left that matches a request applies. */
  inject(...rules: FaultRule[]): void;
  /** Drops all rules that are left, so requests pass through untouched. */
  clear(): void;
  stop(): Promise<void>;
}

interface LiveRule extends FaultRule {
  left: number;
}

const registryError = (status: number) => JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `injected fault: ${status}` }] });

/** Copies `from` into `to`, applying a response fault to the body bytes as they pass. */
function relayBody(from: http.IncomingMessage, to: http.ServerResponse, fault: Fault | undefined, socket: Socket): void {
  let sent = 0;
  let stalled = false;
  let holding = false;
  from.on('data', (chunk: Buffer) => {
    const start = sent;
    sent += chunk.length;
    if (!fault) {
      if (!to.write(chunk)) from.pause();
      return;
    }
    switch (fault.kind) {
      case 'reset':
      case 'truncate':
        if (sent < fault.afterBytes) {
          to.write(chunk);
          return;
        }
        from.destroy();
        to.write(chunk.subarray(0, fault.afterBytes - start), () => {
          if (fault.kind === 'reset') socket.resetAndDestroy();
          else socket.end();
        });
        return;
      case 'corrupt':
        if (fault.at >= start && fault.at < sent) {
          chunk = Buffer.from(chunk);
          chunk[fault.at - start] ^= 0xff;
        }
        if (!to.write(chunk)) from.pause();
        return;
      case 'stall':
        if (stalled || sent < fault.afterBytes) {
          if (!to.write(chunk)) from.pause();
          return;
        }
        stalled = true;
        holding = true;
        from.pause();
        to.write(chunk.subarray(0, fault.afterBytes - start));
        setTimeout(() => {
          holding = false;
          to.write(chunk.subarray(fault.afterBytes - start));
          from.resume();
        }, fault.ms);
        return;
      default:
        if (!to.write(chunk)) from.pause();
    }
  });
  to.on('drain', () => {
    if (!holding) from.resume();
  });
  from.on('end', () => to.end());
  from.on('error', () => socket.destroy());
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const [upHost, upPort] = upstream.split(':') as [string, string];
  let rules: LiveRule[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    const rule = rules.find((r) => r.left > 0 && (r.method === undefined || r.method === req.method) && r.path.test(req.url ?? ''));
    if (rule) rule.left--;
    const fault = rule?.fault;
    requests.push({ method: req.method ?? '', url: req.url ?? '', range: req.headers.range, fault: fault?.kind });
    const socket = req.socket;
    if (fault?.kind === 'status') {
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      res.end(registryError(fault.status));
      return;
    }
    const up = http.request({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers, agent }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      relayBody(upRes, res, fault?.kind === 'reset-upload' ? undefined : fault, socket);
    });
    up.on('error', () => socket.destroy());
    if (fault?.kind === 'reset-upload') {
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= fault.afterBytes) {
          up.destroy();
          socket.resetAndDestroy();
        }
      });
    }
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    inject(...added) {
      rules.push(...added.map((r) => ({ ...r, left: r.times ?? 1 })));
    },
    clear() {
      rules = [];
    },
    async stop() {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
