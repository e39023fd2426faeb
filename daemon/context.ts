/** What every route handler works with: the one store, the log, running work to cancel at shutdown. */
import type { Store } from '../cache/index.js';
import type { SharedSteps } from '../solver/index.js';
import type { Logger } from './logger.js';
import type { ContainerManager } from './containers/index.js';

export interface DaemonContext {
  root: string;
  store: Store;
  log: Logger;
  containers: ContainerManager;
  /** Long work (builds, pulls, pushes) registers here so shutdown can cancel it. */
  work: WorkTracker;
  /** Steps running in any build, so concurrent builds run identical steps once. */
  sharedSteps: SharedSteps;
  /** Clients may build with `--allow security.insecure` (`kiln serve --allow-insecure-entitlement`). */
  allowInsecure: boolean;
}

export class WorkTracker {
  private readonly running = new Set<{ controller: AbortController; done: Promise<unknown> }>();
  private closed = false;

  /** Runs `fn` with a signal that aborts when the client goes away or the daemon stops. */
  async run<T>(fn: (signal: AbortSignal) => Promise<T>, clientGone?: AbortSignal): Promise<T> {
    if (this.closed) throw new Error('the daemon is shutting down');
    const controller = new AbortController();
    const onGone = () => controller.abort(clientGone?.reason);
    clientGone?.addEventListener('abort', onGone, { once: true });
    const done = fn(controller.signal);
    const entry = { controller, done: done.catch(() => undefined) };
    this.running.add(entry);
    try {
      return await done;
    } finally {
      this.running.delete(entry);
      clientGone?.removeEventListener('abort', onGone);
    }
  }

  /** Cancels everything running and waits for it to stop. */
  async cancelAll(reason: unknown): Promise<void> {
    this.closed = true;
    const all = [...this.running];
    for (const w of all) w.controller.abort(reason);
    await Promise.all(all.map((w) => w.done));
  }
}
