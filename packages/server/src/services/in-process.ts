import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimited } from '../errors.js';
import type { FailureLimiter, PresenceStore, TypingStore } from './ports.js';

// Single-process implementations of the ports. A Redis-backed set replaces these when several
// nodes run behind one REDIS_URL.

export class InProcessPresence implements PresenceStore {
  private readonly sockets = new Map<string, Set<string>>();
  // Places are counted apart from presence: a handshake holds one before its socket is online,
  // and one that fails afterwards must leave no trace of having been online.
  private readonly places = new Map<string, Set<string>>();

  connect(userId: string, socketId: string): Promise<boolean> {
    let set = this.sockets.get(userId);
    if (!set) this.sockets.set(userId, (set = new Set()));
    set.add(socketId);
    return Promise.resolve(set.size === 1);
  }

  disconnect(userId: string, socketId: string): Promise<boolean> {
    const set = this.sockets.get(userId);
    if (!set?.delete(socketId)) return Promise.resolve(false);
    if (set.size > 0) return Promise.resolve(false);
    this.sockets.delete(userId);
    return Promise.resolve(true);
  }

  onlineAmong(userIds: readonly string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(userIds.filter((id) => this.sockets.has(id))));
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
}

interface TypingEntry {
  socketId: string;
  timer: NodeJS.Timeout;
}

export class InProcessTyping implements TypingStore {
  private readonly entries = new Map<string, TypingEntry>();

  constructor(private readonly timeoutMs: number) {}

  start(chatId: string, userId: string, socketId: string, onExpire: () => void): boolean {
    if (this.renew(chatId, userId, socketId)) return false;
    const key = `${chatId}|${userId}`;
    const timer = setTimeout(() => {
      this.entries.delete(key);
      onExpire();
    }, this.timeoutMs);
    timer.unref();
    this.entries.set(key, { socketId, timer });
    return true;
  }

  renew(chatId: string, userId: string, socketId: string): boolean {
    const entry = this.entries.get(`${chatId}|${userId}`);
    if (!entry) return false;
    entry.socketId = socketId;
    entry.timer.refresh(); // the same timer, pushed back: nothing allocated per repeat
    return true;
  }

  stop(chatId: string, userId: string): boolean {
    const key = `${chatId}|${userId}`;
    const entry = this.entries.get(key);
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.entries.delete(key);
    return true;
  }

  dropSocket(socketId: string): { chatId: string; userId: string }[] {
    const dropped: { chatId: string; userId: string }[] = [];
    for (const [key, entry] of this.entries) {
      if (entry.socketId !== socketId) continue;
      clearTimeout(entry.timer);
      this.entries.delete(key);
      const [chatId = '', userId = ''] = key.split('|');
      dropped.push({ chatId, userId });
    }
    return dropped;
  }

  clear(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
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
