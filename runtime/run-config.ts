import { KilnError } from '../common/errors.js';

/** The parts of an OCI image config that decide what `kiln run` starts. */
export interface ImageRunConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

export interface RunOverrides {
  /** `--entrypoint`; an empty string clears the image's entrypoint. */
  entrypoint?: string;
  /** Arguments after IMAGE. */
  command: string[];
  /** `-e` values in order, then `--env-file` contents, as `K=V` or bare `K` (taken from kiln's environment). */
  env: string[];
  workdir?: string;
  user?: string;
  hostname: string;
}

export interface RunProcess {
  args: string[];
  env: string[];
  cwd: string;
  user: string | undefined;
}

/** Combines image config and `kiln run` flags exactly as `docker run` does. */
export function resolveRunProcess(image: ImageRunConfig, o: RunOverrides, hostEnv: NodeJS.ProcessEnv = process.env): RunProcess {
  // Docker drops the image's CMD when --entrypoint is given.
  const entrypoint = o.entrypoint !== undefined ? (o.entrypoint === '' ? [] : [o.entrypoint]) : (image.Entrypoint ?? []);
  const cmd = o.command.length > 0 ? o.command : o.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new KilnError('E_RUN_NO_COMMAND', 'no command specified', { hint: 'give a command after the image, or use --entrypoint' });
  }
  const env = new Map<string, string>();
  const put = (entry: string) => {
    const eq = entry.indexOf('=');
    if (eq === -1) {
      const v = hostEnv[entry];
      if (v !== undefined) env.set(entry, v);
    } else {
      env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  };
  env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  env.set('HOSTNAME', o.hostname);
  for (const e of image.Env ?? []) put(e);
  for (const e of o.env) put(e);
  return {
    args,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    cwd: o.workdir || image.WorkingDir || '/',
    user: o.user ?? (image.User || undefined),
  };
}

/** Reads a docker `--env-file`: one `K=V` or `K` per line, `#` comments and blank lines ignored. */
export function parseEnvFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/^\s+/, ''))
    .filter((l) => l !== '' && !l.startsWith('#'));
}
