import type { Logger } from 'pino';
import type { TypingStore } from '../services/ports.js';
import { LUA_NOW, reason, runScript, withDeadline, type RedisClient } from './client.js';

/*
 * Typing indicators across processes: one hash per (chat, user), `P typing:<chat>:<user>`, holding
 * the socket that typed last, the process that renewed last (`holder`) and the deadline, on
 * Redis's clock. The holder keeps a local timer; when it fires, a script ends the indicator only if
 * the deadline has passed, so exactly one process hears of each expiry. A PX safety TTL of a few
 * timeouts removes the keys of a process that died holding them.
 */

/** KEYS: the indicator. ARGV: socket, holder, timeout ms, safety ttl ms. 1 when it is new. */
const START = `${LUA_NOW}
local existed = redis.call('EXISTS', KEYS[1])
redis.call('HSET', KEYS[1], 'socket', ARGV[1], 'holder', ARGV[2],
  'deadline', string.format('%.0f', now_ms() + tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1 - existed
`;

/** As START, for an indicator that exists; 0 when there is none. */
const RENEW = `${LUA_NOW}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'socket', ARGV[1], 'holder', ARGV[2],
  'deadline', string.format('%.0f', now_ms() + tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

/**
 * KEYS: the indicator. ARGV: holder. 0: it lapsed and is gone now (the caller announces it);
 * positive: ms still to wait; -1: it is gone already (stopped); -2: another process renewed it
 * since, and its timer takes over.
 */
const EXPIRE = `${LUA_NOW}
local h = redis.call('HMGET', KEYS[1], 'holder', 'deadline')
if not h[1] then return -1 end
if h[1] ~= ARGV[1] then return -2 end
local left = tonumber(h[2]) - now_ms()
if left > 0 then return left end
redis.call('DEL', KEYS[1])
return 0
`;

/** KEYS: the indicator. ARGV: socket. 1 when that socket held it (now ended). */
const DROP = `
if redis.call('HGET', KEYS[1], 'socket') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

/** How soon an expiry that could not reach Redis tries again. */
const RETRY_MS = 1000;

interface Held {
  chatId: string;
  userId: string;
  socketId: string;
  onExpire: () => void;
  timer: NodeJS.Timeout | undefined;
}

export class RedisTyping implements TypingStore {
  /** The indicators this process renewed last, by key. */
  private readonly held = new Map<string, Held>();
  /** Socket -> keys it holds here, for `dropSocket`. */
  private readonly bySocket = new Map<string, Set<string>>();
  private readonly ttlMs: number;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly pid: string,
    private readonly timeoutMs: number,
    private readonly callTimeoutMs: number,
    private readonly log: Logger,
  ) {
    this.ttlMs = timeoutMs * 4;
  }

  async start(
    chatId: string,
    userId: string,
    socketId: string,
    onExpire: () => void,
  ): Promise<boolean> {
    const key = this.key(chatId, userId);
    const created = await this.call(START, key, socketId, this.pid, this.timeoutMs, this.ttlMs);
    this.hold(key, { chatId, userId, socketId, onExpire, timer: undefined });
    return created === 1;
  }

  async renew(
    chatId: string,
    userId: string,
    socketId: string,
    onExpire: () => void,
  ): Promise<boolean> {
    const key = this.key(chatId, userId);
    const renewed = await this.call(RENEW, key, socketId, this.pid, this.timeoutMs, this.ttlMs);
    if (renewed === 1) this.hold(key, { chatId, userId, socketId, onExpire, timer: undefined });
    return renewed === 1;
  }

  async stop(chatId: string, userId: string): Promise<boolean> {
    const key = this.key(chatId, userId);
    // Forgotten once Redis agrees: if it cannot be asked, the timer still ends the indicator.
    const deleted = await withDeadline(this.client.del(key), this.callTimeoutMs);
    this.forget(key);
    return deleted === 1;
  }

  /**
   * An indicator Redis could not be asked about keeps its timer: it ends at its deadline (or as
   * soon as Redis answers after it), so it cannot stay on forever.
   */
  async dropSocket(socketId: string): Promise<{ chatId: string; userId: string }[]> {
    const entries = [...(this.bySocket.get(socketId) ?? [])].flatMap((key) => {
      const entry = this.held.get(key);
      return entry ? [{ key, entry }] : [];
    });
    const results = await Promise.allSettled(
      entries.map(({ key }) => this.call(DROP, key, socketId)),
    );
    const dropped: { chatId: string; userId: string }[] = [];
    results.forEach((result, i) => {
      const { key, entry } = entries[i]!;
      if (result.status === 'rejected') {
        this.log.warn({ err: reason(result.reason) }, 'redis: typing indicator left to expire');
        return;
      }
      if (this.held.get(key) === entry) this.forget(key);
      if (result.value === 1) dropped.push({ chatId: entry.chatId, userId: entry.userId });
    });
    return dropped;
  }

  clear(): void {
    for (const entry of this.held.values()) clearTimeout(entry.timer);
    this.held.clear();
    this.bySocket.clear();
  }

  private hold(key: string, entry: Held): void {
    this.forget(key);
    this.held.set(key, entry);
    let keys = this.bySocket.get(entry.socketId);
    if (!keys) this.bySocket.set(entry.socketId, (keys = new Set()));
    keys.add(key);
    this.arm(key, entry, this.timeoutMs);
  }

  private forget(key: string): void {
    const entry = this.held.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.held.delete(key);
    const keys = this.bySocket.get(entry.socketId);
    if (keys?.delete(key) && keys.size === 0) this.bySocket.delete(entry.socketId);
  }

  private arm(key: string, entry: Held, ms: number): void {
    entry.timer = setTimeout(() => void this.fire(key, entry), ms);
    entry.timer.unref();
  }

  private async fire(key: string, entry: Held): Promise<void> {
    let left: number;
    try {
      left = await this.call(EXPIRE, key, this.pid);
    } catch {
      left = RETRY_MS; // Redis is down (logged by the connection): ask again
    }
    const current = this.held.get(key) === entry; // else renewed, stopped or dropped meanwhile
    if (left === 0) {
      // This script ended it, so this process announces it, whatever happened here since.
      if (current) this.forget(key);
      try {
        entry.onExpire();
      } catch (err) {
        this.log.error({ err }, 'typing expiry failed');
      }
    } else if (current) {
      if (left > 0) this.arm(key, entry, left);
      else this.forget(key);
    }
  }

  private key(chatId: string, userId: string): string {
    return `${this.prefix}typing:${chatId}:${userId}`;
  }

  private call(script: string, key: string, ...args: (string | number)[]): Promise<number> {
    return withDeadline(runScript<number>(this.client, script, [key], args), this.callTimeoutMs);
  }
}
