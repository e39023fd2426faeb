/**
 * Clean-ups for a kiln process that is interrupted (SIGINT, SIGTERM, SIGHUP) before its work is
 * done: what it made outside the state root, where no later kiln process would find it (a temp
 * file beside an output), and the store session it would otherwise leave to the next process's
 * recovery. The CLI runs them from its signal handler, just before the process dies, so they are
 * synchronous; containers and mounts, whose release has to be awaited, are runtime/shutdown.ts's.
 */
type Cleanup = () => void;

const cleanups = new Set<Cleanup>();

/** Registers a synchronous clean-up (it runs inside a signal handler); the function returned unregisters it. */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

/** Runs the registered clean-ups, newest first; one that throws does not keep the others from running. */
export function runInterruptCleanups(): void {
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // The process is about to die: what one clean-up could not undo, recovery or `kiln check --repair` will.
    }
  }
}
