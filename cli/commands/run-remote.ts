/**
 * `kiln --host ... run`: the container runs on the daemon, as `docker run` would run it there,
 * and is removed when it exits, as an embedded `kiln run` is. Bind mounts name the daemon's paths.
 */
import { spawnSync } from 'node:child_process';
import { KilnError } from '../../common/errors.js';
import type { CreateBody } from '../../daemon/index.js';
import type { GlobalOptions } from '../options.js';
import type { RunRequest } from './run-flags.js';

/** Docker's default when no terminal size can be read. */
const DEFAULT_SIZE = { rows: 24, cols: 80 };

export async function runOnDaemon(r: RunRequest, host: string, tls: GlobalOptions['tls']): Promise<number> {
  if (r.rootfs) {
    throw new KilnError('E_USAGE', 'kiln run --rootfs does not work with --host: the directory would be on the daemon', { hint: 'run without --host (unset KILN_HOST)' });
  }
  const terminal = process.stdout.isTTY ? process.stdout : process.stderr.isTTY ? process.stderr : undefined;
  const size = () => (terminal ? { rows: terminal.rows, cols: terminal.columns } : DEFAULT_SIZE);
  const body: CreateBody = {
    Image: r.image,
    Cmd: r.command.length > 0 ? r.command : null,
    ...(r.entrypoint !== undefined ? { Entrypoint: r.entrypoint === '' ? [] : [r.entrypoint] } : {}),
    Env: r.env,
    ...(r.workdir ? { WorkingDir: r.workdir } : {}),
    ...(r.user !== undefined ? { User: r.user } : {}),
    ...(r.hostname !== undefined ? { Hostname: r.hostname } : {}),
    Tty: r.tty,
    OpenStdin: r.interactive,
    StdinOnce: r.interactive,
    StopTimeout: r.stopTimeoutSeconds,
    HostConfig: {
      Binds: r.volumes.flatMap((v) => (v.type === 'bind' ? [`${v.source}:${v.target}${v.readonly ? ':ro' : ''}`] : [])),
      AutoRemove: true,
      NetworkMode: r.network,
      CapAdd: r.capAdd,
      ...(r.tty ? { ConsoleSize: [size().rows, size().cols] as [number, number] } : {}),
    },
  };
  const client = await import('../../client/index.js');
  const restore = r.tty ? rawTerminal() : () => undefined;
  try {
    return await client.runContainer(new client.DaemonClient({ host, tls }), body, r.name, r.stopTimeoutSeconds, {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      terminalSize: size,
      onTerminalResize: (fn) => {
        terminal?.on('resize', fn);
        return () => terminal?.off('resize', fn);
      },
    });
  } finally {
    restore();
    if (r.interactive) process.stdin.destroy();
  }
}

/**
 * Puts kiln's terminal (its stdin) in raw mode as runc does embedded and docker does: the
 * container's terminal echoes, edits and translates line ends, so kiln's passes every byte
 * through both ways (Node's own raw mode still turns output newlines into CR LF). Returns how to
 * restore it.
 */
function rawTerminal(): () => void {
  const stty = (...args: string[]) => spawnSync('stty', args, { stdio: ['inherit', 'pipe', 'pipe'], encoding: 'utf8' });
  const saved = stty('-g');
  if (saved.status !== 0) throw new KilnError('E_RUN_TERMINAL', `cannot read the terminal's settings: ${saved.stderr.trim()}`);
  stty('raw', '-echo');
  return () => void stty(saved.stdout.trim());
}
