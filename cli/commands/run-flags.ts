/** `kiln run`'s command line, docker-style, the same whether the container runs embedded or on a daemon. */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KilnError } from '../../common/errors.js';
import { systemReason } from '../../common/file-errors.js';
import type { RuntimeMount } from '../../runtime/index.js';

const FLAGS = {
  rm: { type: 'boolean' },
  interactive: { type: 'boolean', short: 'i' },
  tty: { type: 'boolean', short: 't' },
  env: { type: 'string', short: 'e', multiple: true },
  'env-file': { type: 'string', multiple: true },
  volume: { type: 'string', short: 'v', multiple: true },
  workdir: { type: 'string', short: 'w' },
  user: { type: 'string', short: 'u' },
  entrypoint: { type: 'string' },
  network: { type: 'string' },
  name: { type: 'string' },
  hostname: { type: 'string' },
  'cap-add': { type: 'string', multiple: true },
  rootfs: { type: 'boolean' },
  'stop-timeout': { type: 'string' },
} as const;

export const RUN_HELP = `
Options:
  --rm                   remove the container when it exits (always the case for now)
  -i, --interactive      keep stdin open and pass it to the container
  -t, --tty              allocate a pseudo-terminal (with -i kiln's stdin must be a terminal; without one, -t alone is dropped)
  -e, --env K=V          set an environment variable (K alone: take it from kiln's environment)
  --env-file FILE        read environment variables from a file
  -v, --volume HOST:CTR[:ro]  bind-mount a host path
  -w, --workdir DIR      working directory inside the container
  -u, --user USER[:GROUP]
  --entrypoint CMD       override the image's entrypoint
  --network host|none    network namespace (default host)
  --name NAME            name shown by kiln ps
  --hostname NAME        container host name
  --cap-add CAP          grant a capability beyond the defaults (repeatable; ALL for every one).
                         Docker's defaults apply except NET_RAW: raw sockets need --cap-add NET_RAW
  --stop-timeout SECS    after a forwarded SIGTERM or SIGHUP, kill the container if it still
                         runs this long (default 10)
  --rootfs               IMAGE is a root filesystem directory, not an image (like podman)
Options go before IMAGE; everything after IMAGE is the command.`;

/** A parsed `kiln run` command line. */
export interface RunRequest {
  image: string;
  command: string[];
  interactive: boolean;
  tty: boolean;
  /** `-e` values, then `--env-file` lines, as `K=V`: a bare `K` took its value from kiln's environment, or was left out (as docker does). */
  env: string[];
  volumes: RuntimeMount[];
  workdir: string | undefined;
  user: string | undefined;
  entrypoint: string | undefined;
  network: 'host' | 'none';
  name: string | undefined;
  hostname: string | undefined;
  capAdd: string[];
  rootfs: boolean;
  stopTimeoutSeconds: number;
}

/** Flags whose value is the next argument, to find where IMAGE starts. */
const LONG_WITH_VALUE = new Set(Object.entries(FLAGS).filter(([, f]) => f.type === 'string').map(([n]) => n));
const SHORT_WITH_VALUE = new Set<string>(Object.values(FLAGS).flatMap((f) => (f.type === 'string' && 'short' in f ? [f.short] : [])));

/** Splits `[OPTIONS] IMAGE [COMMAND...]` docker-style: options end at the first non-option. */
function splitArgs(args: string[]): { flags: string[]; image: string | undefined; command: string[] } {
  let i = 0;
  while (i < args.length) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    let takesNext = false;
    if (a.startsWith('--')) {
      takesNext = !a.includes('=') && LONG_WITH_VALUE.has(a.slice(2));
    } else {
      for (let k = 1; k < a.length; k++) {
        if (SHORT_WITH_VALUE.has(a[k]!)) {
          takesNext = k === a.length - 1;
          break;
        }
      }
    }
    i += takesNext ? 2 : 1;
  }
  return { flags: args.slice(0, Math.min(i, args.length)), image: args[i], command: args.slice(i + 1) };
}

function parseFlags(flags: string[]) {
  try {
    return parseArgs({ args: flags, options: FLAGS, strict: true, allowPositionals: true }).values;
  } catch (cause) {
    throw new KilnError('E_RUN_FLAGS', `kiln run: ${(cause as Error).message}`, { hint: 'see kiln run --help' });
  }
}

/**
 * Options docker takes after a bind's paths that change nothing here: SELinux relabelling (no
 * SELinux labels on kiln's containers) and Docker Desktop's consistency hints.
 */
const NO_OP_VOLUME_OPTIONS = new Set(['z', 'Z', 'cached', 'delegated', 'consistent']);

/**
 * `-v HOST:CTR[:OPTIONS]`, OPTIONS `ro` or `rw` among docker's comma-separated others; only host
 * paths for now (named volumes need a volume store). A path starting with `.` is the working
 * directory's, as the docker CLI takes it.
 */
function parseVolume(spec: string): RuntimeMount {
  const parts = spec.split(':');
  const [host, target, mode] = parts;
  const options = mode === undefined ? [] : mode.split(',');
  if (parts.length < 2 || parts.length > 3 || !host || !target || options.some((o) => o !== 'ro' && o !== 'rw' && !NO_OP_VOLUME_OPTIONS.has(o))) {
    throw new KilnError('E_RUN_VOLUME', `invalid volume "${spec}"`, { hint: 'use -v /host/path:/container/path[:ro]' });
  }
  const source = host.startsWith('.') ? resolve(host) : host;
  if (!isAbsolute(source)) {
    throw new KilnError('E_RUN_VOLUME', `invalid volume "${spec}": named volumes are not supported yet, the host path must be absolute`, { hint: 'use an absolute host path, or ./path for one in the working directory' });
  }
  return { type: 'bind', source, target, readonly: options.includes('ro') };
}

export async function parseRunArgs(args: string[]): Promise<RunRequest> {
  const { flags, image, command } = splitArgs(args);
  const o = parseFlags(flags);
  if (!image) throw new KilnError('E_RUN_NO_IMAGE', 'kiln run requires an image', { hint: 'kiln run [OPTIONS] IMAGE [COMMAND] [ARG...]' });
  // The container's terminal is relayed through kiln's own. With -i there has to be one (docker's
  // check and message); -t alone, as CI scripts pass it with no terminal, runs without one.
  let tty = Boolean(o.tty);
  if (tty && !process.stdin.isTTY) {
    if (o.interactive) throw new KilnError('E_RUN_NOT_A_TTY', 'the input device is not a TTY', { hint: 'run kiln from a terminal, or drop -t (-i alone pipes stdin)' });
    process.stderr.write('WARNING: -t: kiln\'s input is not a terminal, so the container runs without one\n');
    tty = false;
  }
  const stopTimeout = o['stop-timeout'] === undefined ? 10 : Number(o['stop-timeout']);
  if (!Number.isInteger(stopTimeout) || stopTimeout < 0) {
    throw new KilnError('E_RUN_FLAGS', `kiln run: invalid --stop-timeout "${o['stop-timeout']}"`, { hint: 'a whole number of seconds, e.g. --stop-timeout 10' });
  }
  const network = o.network ?? 'host';
  if (network !== 'host' && network !== 'none') {
    throw new KilnError('E_RUN_NETWORK', `unsupported network "${network}"`, { hint: 'use --network host or --network none' });
  }
  const { parseEnvFile } = await import('../../runtime/index.js');
  const given = [...(o.env ?? [])];
  for (const file of o['env-file'] ?? []) {
    try {
      given.push(...parseEnvFile(await readFile(file, 'utf8')));
    } catch (cause) {
      throw new KilnError('E_RUN_ENV_FILE', `cannot read env file ${file}: ${systemReason(cause)}`, { cause, hint: 'give the path of a readable file of KEY=VALUE lines' });
    }
  }
  const env = given.flatMap((e) => (e.includes('=') ? [e] : process.env[e] === undefined ? [] : [`${e}=${process.env[e]}`]));
  return {
    image,
    command,
    interactive: Boolean(o.interactive),
    tty,
    env,
    volumes: (o.volume ?? []).map(parseVolume),
    workdir: o.workdir,
    user: o.user,
    entrypoint: o.entrypoint,
    network,
    name: o.name,
    hostname: o.hostname,
    capAdd: o['cap-add'] ?? [],
    rootfs: Boolean(o.rootfs),
    stopTimeoutSeconds: stopTimeout,
  };
}
