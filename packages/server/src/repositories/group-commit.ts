/** One queued write and the promise that waits for it. */
export interface Pending<I, O> {
  readonly item: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

/**
 * Group commit: writes that arrive while a flush runs wait for it, then go together in the next
 * one. A flush starts when the previous one returns (and the queue holds something), never on a
 * timer: a lone write waits only for the end of the event-loop turn it arrived in, so that the
 * writes read from the network in the same turn share its statement.
 *
 * `flush` settles each entry it is given; an entry it leaves unsettled when it throws gets that
 * error. Entries reach `flush` in the order they were submitted, and flushes run one at a time,
 * so the order of writes from this process is kept.
 */
export class GroupCommit<I, O> {
  private queue: Pending<I, O>[] = [];
  private running = false;

  constructor(
    private readonly flush: (batch: readonly Pending<I, O>[]) => Promise<void>,
    /** The most entries one flush takes; the rest wait for the next. */
    private readonly maxBatch: number,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.run());
      }
    });
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await this.flush(batch);
      } catch (err) {
        // Settling a settled promise does nothing: only the entries left waiting get the error.
        for (const entry of batch) entry.reject(err);
      }
    }
    this.running = false;
  }
}
