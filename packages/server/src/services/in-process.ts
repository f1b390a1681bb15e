import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimited } from '../errors.js';
import { InProcessCalls } from './in-process-calls.js';
import type { FailureLimiter, PresenceStore, SharedState, TypingStore } from './ports.js';

// Single-process implementations of the ports: the state of a server without REDIS_URL. The
// Redis-backed set in scale/ replaces them when several processes run behind one REDIS_URL.

/** The state of one server process alone: nobody else to agree with. */
export function inProcessState(typingTimeoutMs: number): SharedState {
  const typing = new InProcessTyping(typingTimeoutMs);
  return {
    presence: new InProcessPresence(),
    typing,
    calls: new InProcessCalls(),
    limiter: (_name, points, durationSeconds) => inProcessRateLimiter(points, durationSeconds),
    redisStatus: () => undefined,
    close: () => {
      typing.clear();
      return Promise.resolve();
    },
  };
}

export class InProcessPresence implements PresenceStore {
  private readonly sockets = new Map<string, Set<string>>();
  // Announced online, which outlives the last socket by the grace: a reconnect inside it finds
  // the user still announced and announces nothing.
  private readonly announced = new Set<string>();
  // Places are counted apart from presence: a handshake holds one before its socket is online,
  // and one that fails afterwards must leave no trace of having been online.
  private readonly places = new Map<string, Set<string>>();
  // Users whose last socket went (and when), still announced online: inside their grace.
  private readonly pending = new Map<string, Date>();

  connect(userId: string, socketId: string): Promise<boolean> {
    let set = this.sockets.get(userId);
    if (!set) this.sockets.set(userId, (set = new Set()));
    set.add(socketId);
    this.pending.delete(userId);
    if (this.announced.has(userId)) return Promise.resolve(false);
    this.announced.add(userId);
    return Promise.resolve(true);
  }

  disconnect(userId: string, socketId: string): Promise<boolean> {
    const set = this.sockets.get(userId);
    if (!set?.delete(socketId)) return Promise.resolve(false);
    if (set.size > 0) return Promise.resolve(false);
    this.sockets.delete(userId);
    if (this.announced.has(userId)) this.pending.set(userId, new Date());
    return Promise.resolve(true);
  }

  settleOffline(userId: string): Promise<boolean> {
    if (this.sockets.has(userId)) return Promise.resolve(false);
    this.pending.delete(userId);
    return Promise.resolve(this.announced.delete(userId));
  }

  /** Alone, always the last: every user inside their grace goes offline now. */
  leave(): Promise<{ userId: string; lastSeenAt: Date }[]> {
    const left = [...this.pending].map(([userId, lastSeenAt]) => ({ userId, lastSeenAt }));
    for (const { userId } of left) this.announced.delete(userId);
    this.pending.clear();
    return Promise.resolve(left);
  }

  onlineAmong(userIds: readonly string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(userIds.filter((id) => this.announced.has(id))));
  }

  claimPlace(userId: string, socketId: string, max: number): Promise<boolean> {
    let set = this.places.get(userId);
    if (!set) this.places.set(userId, (set = new Set()));
    if (set.size >= max && !set.has(socketId)) return Promise.resolve(false);
    set.add(socketId);
    return Promise.resolve(true);
  }

  releasePlace(userId: string, socketId: string): Promise<void> {
    const set = this.places.get(userId);
    if (set?.delete(socketId) && set.size === 0) this.places.delete(userId);
    return Promise.resolve();
  }

  /** One process never outlives itself: nothing to sweep. */
  sweep(): Promise<{ userId: string; lastSeenAt: Date }[]> {
    return Promise.resolve([]);
  }
}

interface TypingEntry {
  socketId: string;
  timer: NodeJS.Timeout;
  /** The latest caller's: whoever renewed last hears of the expiry. */
  onExpire: () => void;
}

export class InProcessTyping implements TypingStore {
  private readonly entries = new Map<string, TypingEntry>();

  constructor(private readonly timeoutMs: number) {}

  start(chatId: string, userId: string, socketId: string, onExpire: () => void): Promise<boolean> {
    if (this.renewNow(chatId, userId, socketId, onExpire)) return Promise.resolve(false);
    const key = `${chatId}|${userId}`;
    const entry: TypingEntry = {
      socketId,
      onExpire,
      timer: setTimeout(() => {
        this.entries.delete(key);
        entry.onExpire();
      }, this.timeoutMs),
    };
    entry.timer.unref();
    this.entries.set(key, entry);
    return Promise.resolve(true);
  }

  renew(chatId: string, userId: string, socketId: string, onExpire: () => void): Promise<boolean> {
    return Promise.resolve(this.renewNow(chatId, userId, socketId, onExpire));
  }

  stop(chatId: string, userId: string): Promise<boolean> {
    const key = `${chatId}|${userId}`;
    const entry = this.entries.get(key);
    if (!entry) return Promise.resolve(false);
    clearTimeout(entry.timer);
    this.entries.delete(key);
    return Promise.resolve(true);
  }

  dropSocket(socketId: string): Promise<{ chatId: string; userId: string }[]> {
    const dropped: { chatId: string; userId: string }[] = [];
    for (const [key, entry] of this.entries) {
      if (entry.socketId !== socketId) continue;
      clearTimeout(entry.timer);
      this.entries.delete(key);
      const [chatId = '', userId = ''] = key.split('|');
      dropped.push({ chatId, userId });
    }
    return Promise.resolve(dropped);
  }

  /** One process never outlives itself: nothing to sweep. */
  sweep(): Promise<{ chatId: string; userId: string }[]> {
    return Promise.resolve([]);
  }

  clear(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
  }

  private renewNow(
    chatId: string,
    userId: string,
    socketId: string,
    onExpire: () => void,
  ): boolean {
    const entry = this.entries.get(`${chatId}|${userId}`);
    if (!entry) return false;
    entry.socketId = socketId;
    entry.onExpire = onExpire;
    entry.timer.refresh(); // the same timer, pushed back: nothing allocated per repeat
    return true;
  }
}

/** `points` attempts per `durationSeconds` per key; 0 points turns the limit off. */
export function inProcessRateLimiter(points: number, durationSeconds: number): FailureLimiter {
  if (points === 0) return { consume: () => Promise.resolve(), refund: () => Promise.resolve() };
  const limiter = new RateLimiterMemory({ points, duration: durationSeconds });
  return {
    refund: async (key) => {
      await limiter.reward(key, 1);
    },
    consume: async (key) => {
      try {
        await limiter.consume(key);
      } catch (err) {
        if (err instanceof RateLimiterRes) throw rateLimited(Math.ceil(err.msBeforeNext / 1000));
        throw err;
      }
    },
  };
}
