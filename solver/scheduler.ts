import PQueue from 'p-queue';
import { BuildCancelledError } from './errors.js';

export interface SchedulerOptions {
  /** How many vertices may run at once. */
  jobs: number;
  /** Cancels the whole build (e.g. Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * Runs vertices with a concurrency limit. A vertex is identified by its cache key: the same key
 * asked for twice runs once and both callers get its result. The first failure aborts every
 * running vertex (through `signal`) and keeps queued ones from starting.
 */
export class Scheduler {
  private readonly queue: PQueue;
  private readonly controller = new AbortController();
  private readonly running = new Map<string, Promise<unknown>>();
  private failure: unknown;

  constructor(options: SchedulerOptions) {
    this.queue = new PQueue({ concurrency: Math.max(1, options.jobs) });
    if (options.signal) {
      const outer = options.signal;
      if (outer.aborted) this.fail(new BuildCancelledError({ cause: outer.reason }));
      else outer.addEventListener('abort', () => this.fail(new BuildCancelledError({ cause: outer.reason })), { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The error that stopped the build, once one has. */
  get firstError(): unknown {
    return this.failure;
  }

  /** Throws if the build has been stopped; call between steps. */
  check(): void {
    if (this.controller.signal.aborted) throw this.failure ?? new BuildCancelledError();
  }

  /** Stops the build: the first call's error is the one reported. */
  fail(err: unknown): void {
    if (this.controller.signal.aborted) return;
    this.failure = err;
    this.controller.abort(err);
  }

  /** Runs `fn` for `key` at most once, within the concurrency limit. */
  run<T>(key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const known = this.running.get(key);
    if (known) return known as Promise<T>;
    const p = this.queue.add(
      async () => {
        this.check();
        try {
          return await fn(this.controller.signal);
        } catch (e) {
          this.fail(e);
          throw e;
        }
      },
      { throwOnTimeout: true },
    ) as Promise<T>;
    this.running.set(key, p);
    return p;
  }
}
