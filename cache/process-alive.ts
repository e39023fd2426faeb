import { procStat } from '../common/proc-stat.js';

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
  // Gone since kill(0) found it, or no /proc to ask: either way alive is the safe answer.
  return !procStat(pid)?.exited;
}

/**
 * processAlive with one answer per pid, for one survey of a store: snapshot dirs keep their
 * maker's pid in their name for good, so a store holds hundreds of names of a few pids.
 */
export function aliveProbe(): (pid: number) => boolean {
  const known = new Map<number, boolean>();
  return (pid) => {
    let alive = known.get(pid);
    if (alive === undefined) known.set(pid, (alive = processAlive(pid)));
    return alive;
  };
}
