import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { RegistryError } from './errors.js';

/** What kiln sends to a registry: a user and password, or an identity (refresh) token. */
export interface Credentials {
  username: string;
  password: string;
  /** Set when a credential helper returned `<token>` as the user: an OAuth2 refresh token. */
  identityToken?: string;
  /** Where these came from, for error messages: `config.json auths`, `docker-credential-pass`. */
  source: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

/** The parts of docker's config.json kiln reads; everything else in the file is preserved. */
export interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

/** The key docker uses for a registry in `auths` and credential helpers. */
export function credentialKey(registry: string): string {
  return registry === 'docker.io' ? DOCKER_HUB_KEY : registry;
}

/** Docker accepts `https://host/v1/`-style keys; compare by host only, as its ConvertToHostname does. */
function hostOfKey(key: string): string {
  let host = key.replace(/^[a-z]+:\/\//, '');
  const slash = host.indexOf('/');
  if (slash !== -1) host = host.slice(0, slash);
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

async function readDockerConfig(path: string): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RegistryError('E_REGISTRY_CREDENTIALS', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as DockerConfigFile;
  } catch (err) {
    throw new RegistryError('E_REGISTRY_CREDENTIALS', `${path} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
      hint: 'fix or remove the file, then run kiln login again',
    });
  }
}

/** Replaces the file in one step (temp file + rename), readable only by its owner. */
export async function writeDockerConfig(path: string, config: DockerConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(config, null, '\t')}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function helperFor(config: DockerConfigFile, registry: string): string | undefined {
  for (const [key, helper] of Object.entries(config.credHelpers ?? {})) {
    if (hostOfKey(key) === registry) return helper;
  }
  return config.credsStore || undefined;
}

function findAuthEntry(config: DockerConfigFile, registry: string): [string, AuthEntry] | undefined {
  const auths = config.auths ?? {};
  const exact = credentialKey(registry);
  if (auths[exact]) return [exact, auths[exact]];
  for (const [key, entry] of Object.entries(auths)) if (hostOfKey(key) === registry) return [key, entry];
  return undefined;
}

/** Runs `docker-credential-NAME ACTION` with `input` on stdin, returning stdout. */
function runHelper(helper: string, action: string, input: string): Promise<{ code: number; stdout: string }> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) =>
      reject(
        new RegistryError('E_REGISTRY_CREDENTIALS', `cannot run credential helper ${program}: ${err.message}`, {
          cause: err,
          hint: `install ${program} or remove "credsStore"/"credHelpers" from the docker config`,
        }),
      ),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: stdout || stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function decodeAuth(entry: AuthEntry, source: string): Credentials | undefined {
  let username = entry.username ?? '';
  let password = entry.password ?? '';
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) {
      throw new RegistryError('E_REGISTRY_CREDENTIALS', `the "auth" value for ${source} is not base64 of user:password`, {
        hint: 'run kiln login again',
      });
    }
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (entry.identitytoken) return { username, password, identityToken: entry.identitytoken, source };
  if (!username && !password) return undefined;
  return { username, password, source };
}

/** Credentials docker would use for `registry`: a credential helper first, then `auths`. */
export async function getCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  return (await loadDockerCredentials(env)).get(registry);
}

/** The docker config, read once: a request that needs several registries' credentials takes them all from one reading of the file. */
export interface DockerCredentials {
  config: DockerConfigFile;
  get(registry: string): Promise<Credentials | undefined>;
}

export async function loadDockerCredentials(env: NodeJS.ProcessEnv = process.env): Promise<DockerCredentials> {
  const path = dockerConfigPath(env);
  const config = await readDockerConfig(path);
  return { config, get: (registry) => credentialsIn(config, path, registry) };
}

async function credentialsIn(config: DockerConfigFile, path: string, registry: string): Promise<Credentials | undefined> {
  const helper = helperFor(config, registry);
  if (helper) {
    const { code, stdout } = await runHelper(helper, 'get', credentialKey(registry));
    if (code !== 0) {
      if (/credentials not found/i.test(stdout)) return undefined;
      throw new RegistryError('E_REGISTRY_CREDENTIALS', `docker-credential-${helper} get failed: ${stdout.trim()}`);
    }
    const out = JSON.parse(stdout) as { Username?: string; Secret?: string };
    const source = `docker-credential-${helper}`;
    if (out.Username === '<token>') return { username: '', password: '', identityToken: out.Secret ?? '', source };
    return { username: out.Username ?? '', password: out.Secret ?? '', source };
  }
  const found = findAuthEntry(config, registry);
  return found ? decodeAuth(found[1], `${path} auths["${found[0]}"]`) : undefined;
}

/** Saves credentials where docker would: the configured helper, else base64 in `auths`. */
export async function storeCredentials(registry: string, username: string, password: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const path = dockerConfigPath(env);
  const config = await readDockerConfig(path);
  const helper = helperFor(config, registry);
  const key = credentialKey(registry);
  if (helper) {
    const { code, stdout } = await runHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: username, Secret: password }));
    if (code !== 0) throw new RegistryError('E_REGISTRY_CREDENTIALS', `docker-credential-${helper} store failed: ${stdout.trim()}`);
    return `docker-credential-${helper}`;
  }
  const auths = { ...(config.auths ?? {}) };
  const existing = findAuthEntry(config, registry);
  if (existing) delete auths[existing[0]];
  auths[key] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  await writeDockerConfig(path, { ...config, auths });
  return path;
}

/** Removes saved credentials; false when there were none. */
export async function eraseCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const path = dockerConfigPath(env);
  const config = await readDockerConfig(path);
  const helper = helperFor(config, registry);
  let erased = false;
  if (helper) {
    const { code } = await runHelper(helper, 'erase', credentialKey(registry));
    erased = code === 0;
  }
  const existing = findAuthEntry(config, registry);
  if (existing) {
    const auths = { ...(config.auths ?? {}) };
    delete auths[existing[0]];
    await writeDockerConfig(path, { ...config, auths });
    erased = true;
  }
  return erased;
}
