/** The signals kiln passes on to what it runs for the user: a container (`kiln run`), or itself re-run in a user namespace. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Forwarded signals that mean "end". */
const ENDING: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];

export interface ForwardOptions {
  /** Signals not to pass on as they come (the rootless parent: keyboard ones the terminal sent the child too). */
  skip?: (signal: NodeJS.Signals) => boolean;
  /**
   * After a forwarded SIGTERM or SIGHUP, `kill` runs if the target still runs `afterMs` later, as
   * docker stop's grace: a pid 1 may ignore the signal.
   */
  escalate?: { afterMs: number; kill: () => void };
}

/** Passes the signals kiln gets on through `send` until the function returned is called (which also cancels a pending kill). */
export function forwardSignals(send: (signal: NodeJS.Signals) => void, options: ForwardOptions = {}): () => void {
  const { skip, escalate } = options;
  let escalation: NodeJS.Timeout | undefined;
  const handlers = FORWARDED.map((signal) => {
    const handler = () => {
      if (skip?.(signal)) return;
      send(signal);
      if (escalate && ENDING.includes(signal)) escalation ??= setTimeout(escalate.kill, escalate.afterMs);
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  return () => {
    clearTimeout(escalation);
    for (const off of handlers) off();
  };
}
