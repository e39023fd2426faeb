/**
 * What this process must undo if it is told to stop: running containers, mounted snapshots.
 * Each resource registers itself while it exists, so a daemon shutting down can release all of
 * them. These clean-ups are asynchronous (runc delete, umount), so a signal handler cannot wait
 * for them: a CLI command that runs containers handles its signals itself (build cancels, run
 * forwards) and ends them through its own finally blocks; common/interrupt.ts holds the
 * synchronous ones a signal runs just before kiln dies.
 */
const active = new Set<() => Promise<void>>();

export function registerCleanup(cleanup: () => Promise<void>): () => void {
  active.add(cleanup);
  return () => active.delete(cleanup);
}

/** Runs every registered cleanup, newest first (containers before the snapshots they run in). */
export async function cleanupAll(): Promise<void> {
  const all = [...active].reverse();
  active.clear();
  for (const cleanup of all) {
    try {
      await cleanup();
    } catch {
      // Keep going: whatever is left is found and removed by the next kiln's startup cleanup.
    }
  }
}
