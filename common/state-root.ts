import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where kiln keeps its state: `--root`, else `KILN_ROOT`, else `/var/lib/kiln` for root
 * and `$XDG_DATA_HOME/kiln` (default `~/.local/share/kiln`) for everyone else.
 */
export function resolveStateRoot(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.KILN_ROOT) return resolve(env.KILN_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/kiln';
  const data = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'kiln');
}
