/**
 * At most `limit` socket handshakes at work at once; the rest wait their turn, in arrival order,
 * holding nothing but their TCP connection and a place in this queue.
 *
 * A handshake reads the database (the session with its chats, then, once connected, the session
 * again and the user's contacts). Ten thousand clients connecting together would otherwise queue
 * tens of thousands of queries at once: on PostgreSQL each waits for one of the pool's connections
 * and gives up after its wait (`unavailable`), on the embedded database every handshake advances
 * one query per pass over the whole queue, so all of them finish late and most clients time out.
 * Admitted a few at a time, each handshake finishes in a few queries' time and the first to come
 * are the first served.
 */
export class Admission {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Waits for a turn; the function returned gives it back (calling it again does nothing). */
  async enter(): Promise<() => void> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.waiting.shift();
      // The turn passes straight to the next in line: `active` stays as it is.
      if (next) next();
      else this.active--;
    };
  }
}
