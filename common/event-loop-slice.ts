/**
 * For a long run of synchronous work (hashing, walking, copying thousands of small files): after
 * each `ms` of it, the event loop gets a turn, so timers and I/O callbacks (progress, another
 * step's mount or runc) are not held up until the whole run is over.
 *   const slice = new EventLoopSlice(15); for (...) { work(); if (slice.over) await slice.next(); }
 * Timed with Date.now: the global `performance` loads all of perf_hooks on first use (~1.3 ms of
 * a build's start), and a clock stepped back only ends a slice early.
 */
export class EventLoopSlice {
  private started = Date.now();

  constructor(private readonly ms: number) {}

  /** Whether this slice has had its time. */
  get over(): boolean {
    const now = Date.now();
    return now - this.started > this.ms || now < this.started;
  }

  /** Lets the event loop run, then starts a new slice. */
  async next(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.started = Date.now();
  }
}
