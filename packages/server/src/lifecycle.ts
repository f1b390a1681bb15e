import { unavailable } from './errors.js';

/**
 * Graceful shutdown's bookkeeping: once draining, new work is refused with `unavailable`, and
 * the work already under way (writes above all) is waited for before sockets and the database
 * close.
 */
export class Lifecycle {
  private draining = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  get isDraining(): boolean {
    return this.draining;
  }

  /** Throws `unavailable` once shutdown has begun. */
  assertOpen(): void {
    if (this.draining) throw unavailable();
  }

  /** Runs `work` unless draining, and counts it as in flight until it settles. */
  run<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.track(work());
  }

  /** Counts work as in flight without refusing it: bookkeeping that must finish (presence). */
  track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Marks the start of work that ends later (an HTTP request); call the result when it ends. */
  begin(): () => void {
    let end = () => {};
    void this.track(new Promise<void>((resolve) => (end = resolve)));
    return end;
  }

  /** Stops taking work and waits (up to `timeoutMs`) for what is under way. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) {
      const timeout = new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, deadline - Date.now())).unref(),
      );
      await Promise.race([Promise.allSettled([...this.inFlight]), timeout]);
    }
  }
}
