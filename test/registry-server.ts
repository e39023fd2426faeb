/**
 * Test helper: runs Debian's docker-registry (distribution 2.8) on a free 127.0.0.1 port with its
 * own storage dir and config, optionally with TLS, htpasswd or token auth. Also makes certificates
 * with openssl.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';

const run = promisify(execFile);

export interface RegistryServerOptions {
  tls?: { cert: string; key: string; ca: string };
  /** An htpasswd file (bcrypt entries). */
  htpasswd?: string;
  /** distribution's `auth: token`: tokens signed by the key of `rootCertBundle`. */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** Reuse a storage dir (to restart a registry over the same data). */
  storage?: string;
  port?: number;
}

export interface RegistryServer {
  /** `127.0.0.1:PORT`, as used in image references. */
  host: string;
  port: number;
  storage: string;
  /** Kills the process abruptly (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and storage. */
  restart(): Promise<void>;
  /** Stops it and removes its files (unless the storage was passed in). */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function configYaml(storage: string, port: number, o: RegistryServerOptions): string {
  let y = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storage}/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: kiln-test-secret
`;
  if (o.tls) y += `  tls:\n    certificate: ${o.tls.cert}\n    key: ${o.tls.key}\n`;
  if (o.htpasswd) y += `auth:\n  htpasswd:\n    realm: kiln-test\n    path: ${o.htpasswd}\n`;
  if (o.token) {
    y += `auth:\n  token:\n    realm: ${o.token.realm}\n    service: ${o.token.service}\n    issuer: ${o.token.issuer}\n    rootcertbundle: ${o.token.rootCertBundle}\n`;
  }
  return y;
}

async function waitReady(port: number, child: ChildProcess, tls: RegistryServerOptions['tls'], log: () => string): Promise<void> {
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/v2/`;
  try {
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${log()}`);
      try {
        const res = await request(url, { dispatcher: agent });
        await res.body.dump();
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error(`docker-registry did not start: ${log()}`);
  } finally {
    await agent.close();
  }
}

export async function startRegistry(options: RegistryServerOptions = {}): Promise<RegistryServer> {
  const ownStorage = options.storage === undefined;
  const storage = options.storage ?? (await mkdtemp(join(tmpdir(), 'kiln-registry-')));
  const port = options.port ?? (await freePort());
  const configPath = join(storage, 'config.yml');
  await writeFile(configPath, configYaml(storage, port, options));
  let child: ChildProcess;
  let stderr = '';
  const launch = async () => {
    stderr = '';
    child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    await waitReady(port, child, options.tls, () => stderr);
  };
  const exited = () => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  await launch();
  return {
    host: `127.0.0.1:${port}`,
    port,
    storage,
    async kill() {
      child.kill('SIGKILL');
      await exited();
    },
    restart: launch,
    async stop() {
      child.kill('SIGTERM');
      await exited();
      if (ownStorage) await rm(storage, { recursive: true, force: true });
    },
  };
}

export interface TestCertificates {
  dir: string;
  caCert: string;
  /** Server certificate for 127.0.0.1 and localhost, signed by the CA. */
  cert: string;
  key: string;
}

/** A throwaway CA and a server certificate for 127.0.0.1 signed by it. */
export async function makeCertificates(dir: string): Promise<TestCertificates> {
  const p = (f: string) => join(dir, f);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=kiln test CA', '-keyout', p('ca.key'), '-out', p('ca.pem')]);
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', p('server.key'), '-out', p('server.csr')]);
  await writeFile(p('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('san.ext'), '-out', p('server.pem')]);
  return { dir, caCert: p('ca.pem'), cert: p('server.pem'), key: p('server.key') };
}
