/** RATE_LIMIT_EVENTS counts a socket's events over this window. */
export const EVENT_WINDOW_MS = 10_000;
/** Handlers of one socket running at once: enough to pipeline, too few to take the whole pool. */
export const MAX_RUNNING = 8;
/**
 * Events of one socket waiting for a free slot, at least; one more is refused (`rate_limited`).
 * A limit above it lets its whole allowance wait (a burst within RATE_LIMIT_EVENTS finds room,
 * unless events of an earlier window still wait), and with no limit (0) MAX_WAITING_UNLIMITED
 * may: what a socket can make the server hold stays bounded either way (a waiting event holds its
 * payload, at most a 64 KiB frame).
 */
export const MAX_WAITING = 512;
export const MAX_WAITING_UNLIMITED = 2048;

/**
 * One socket's share of the server: a fixed window of `perWindow` events (0: no limit), and at
 * most MAX_RUNNING handlers at once, the next ones (see MAX_WAITING) waiting in arrival order.
 * Counting costs a clock read and a few comparisons; nothing here allocates per event but the
 * queue.
 */
export class SocketFlow {
  private windowEndsAt = 0;
  private spent = 0;
  private running = 0;
  private readonly waiting: (() => Promise<void>)[] = [];
  private closed = false;
  private readonly maxWaiting: number;
  /** Made at the socket's first event: most sockets idle, and each closure costs them memory. */
  private finished?: () => void;
  private startNext?: () => void;

  constructor(private readonly perWindow: number) {
    this.maxWaiting = perWindow === 0 ? MAX_WAITING_UNLIMITED : Math.max(MAX_WAITING, perWindow);
  }

  /** Counts one event; false once this window's allowance is spent. */
  admit(now = Date.now()): boolean {
    if (this.perWindow === 0) return true;
    if (now >= this.windowEndsAt) {
      this.windowEndsAt = now + EVENT_WINDOW_MS;
      this.spent = 0;
    }
    return ++this.spent <= this.perWindow;
  }

  /**
   * Starts `work` now if a slot is free and nothing waits, else queues it behind the others
   * (starts keep arrival order). False when the queue is full: the caller refuses the event.
   * `work` must not reject.
   */
  run(work: () => Promise<void>): boolean {
    if (this.closed) return true; // the socket is gone: nobody is left to answer
    if (this.running < MAX_RUNNING && this.waiting.length === 0) {
      this.start(work);
      return true;
    }
    if (this.waiting.length >= this.maxWaiting) return false;
    this.waiting.push(work);
    return true;
  }

  /** The socket disconnected: what has not started never will; what runs finishes. */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
  }

  private start(work: () => Promise<void>): void {
    this.running++;
    const finished = (this.finished ??= () => this.finish());
    work().then(finished, finished);
  }

  // The next one starts on a later turn of the event loop: PGlite answers in microtasks, so a
  // socket's backlog would otherwise run to its end before anything else gets in.
  private finish(): void {
    this.running--;
    if (this.waiting.length > 0) setImmediate((this.startNext ??= () => this.startWaiting()));
  }

  private startWaiting(): void {
    const next = this.running < MAX_RUNNING ? this.waiting.shift() : undefined;
    if (next) this.start(next);
  }
}
