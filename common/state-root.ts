import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { KilnError } from './errors.js';

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

/**
 * Fails when the state root exists and is not a directory (`--root` given a file): every command
 * would otherwise fail its own way, or find nothing there and say all is well (`kiln check`).
 */
export function checkStateRoot(root: string): void {
  const st = statSync(root, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) {
    throw new KilnError('E_STATE_ROOT', `the kiln state root ${root} is not a directory`, { hint: 'give a directory (or a path to create one at) with --root or KILN_ROOT' });
  }
}

/**
 * `<root>/rt`: scratch space of all kiln processes, one sub-directory per process (runtime's
 * snapshots and bundles). The store marks it an Orlov top dir (cache/top-dirs.ts).
 */
export function scratchRoot(stateRoot: string): string {
  return join(stateRoot, 'rt');
}
