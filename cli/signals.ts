import { runInterruptCleanups } from '../common/interrupt.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Ctrl-C (or SIGTERM, SIGHUP) runs the interrupt clean-ups (common/interrupt.ts), then lets the
 * signal end kiln as it would have without a handler, so the shell still sees 130 for Ctrl-C. A
 * command that handles the signal itself (build cancels, run forwards it to its container, serve
 * shuts down, the rootless parent passes it on) has a listener of its own, and this one stands
 * aside while it does.
 */
export function cleanUpOnSignals(): void {
  for (const signal of SIGNALS) {
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) return;
      runInterruptCleanups();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
