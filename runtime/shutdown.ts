/**
 * What this process must undo if it is told to stop: running containers, mounted snapshots.
 * Each resource registers itself while it exists, so SIGINT/SIGTERM can release all of them.
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

const EXIT_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * For builds: on SIGINT/SIGTERM/SIGHUP, kill containers, unmount snapshots and exit 128+signal.
 * Returns a function that removes the handlers.
 */
export function exitOnTerminationSignals(): () => void {
  let stopping = false;
  const handlers = Object.entries(EXIT_SIGNALS).map(([signal, code]) => {
    const handler = () => {
      if (stopping) return;
      stopping = true;
      void cleanupAll().finally(() => process.exit(code));
    };
    process.on(signal as NodeJS.Signals, handler);
    return [signal as NodeJS.Signals, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
