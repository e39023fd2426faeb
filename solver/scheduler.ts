import PQueue from 'p-queue';
import { BuildCancelledError } from './errors.js';

export interface SchedulerOptions {
  /** How many vertices may run at once. */
  jobs: number;
  /** Cancels the whole build (e.g. Ctrl-C). */
  signal?: AbortSignal;
  /** Steps in flight across builds (one daemon): a key another build is running is awaited, not run again. */
  shared?: SharedSteps;
}

/** Results of steps running in any build sharing it, by key; an entry lives while its step runs. */
export type SharedSteps = Map<string, Promise<unknown>>;

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
  private readonly shared: SharedSteps | undefined;

  constructor(options: SchedulerOptions) {
    this.shared = options.shared;
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

  /**
   * Runs `fn` for `key` at most once, within the concurrency limit. With shared steps, a key another
   * build is running is awaited instead; if that build fails or is cancelled, this one runs it itself.
   */
  run<T>(key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const known = this.running.get(key);
    if (known) return known as Promise<T>;
    const other = this.shared?.get(key) as Promise<T> | undefined;
    const p = other ? other.catch(() => this.runHere(key, fn)) : this.runHere(key, fn);
    this.running.set(key, p);
    return p;
  }

  private runHere<T>(key: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
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
    if (this.shared) {
      const shared = this.shared;
      shared.set(key, p);
      const forget = () => {
        if (shared.get(key) === p) shared.delete(key);
      };
      p.then(forget, forget);
    }
    return p;
  }
}
