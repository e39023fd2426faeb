import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid exists on this host (EPERM means it exists but is not ours). A
 * zombie does not count: it holds nothing any more and only waits for its parent to reap it,
 * which can take a while after a SIGKILL, and a killed kiln's session must be recoverable meanwhile.
 */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // Gone since kill(0) found it, or no /proc to ask: either way alive is the safe answer.
    return false;
  }
  // The state follows the parenthesised command name, which may itself hold spaces or parens.
  const state = stat[stat.lastIndexOf(')') + 2];
  return state === 'Z' || state === 'X';
}
