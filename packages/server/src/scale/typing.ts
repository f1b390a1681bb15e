import type { Logger } from 'pino';
import type { TypingStore } from '../services/ports.js';
import {
  asAppError,
  isOutage,
  LUA_NOW,
  reason,
  runScript,
  type OutageNotes,
  type RedisClient,
} from './client.js';

/*
 * Typing indicators across processes (P is the key prefix):
 *
 *   P typing:<chat>:<user>   hash: the socket that typed last, the process that renewed last
 *                            (`holder`), the deadline on Redis's clock; and `ended` once it ended
 *                            (expired, stopped, dropped): a tombstone, kept for a safety TTL
 *   P typing:held:<pid>      set of `<chat>:<user>`: the live indicators that process holds
 *   P typing:holders         set of the processes holding any
 *
 * The holder keeps a local timer; when it fires, a script ends the indicator only if the deadline
 * has passed, so exactly one process hears of each expiry. An indicator that ends leaves a
 * tombstone rather than nothing, so that the timer of any process that held it before, firing
 * late, finds it ended by someone else; while an indicator that is not there at all was lost by
 * Redis (a restart without persistence), and its holder announces its end itself. A process that
 * dies holding indicators never fires: the sweep finds it by its lapsed lease (`P lease:<pid>`,
 * see presence.ts) and ends them, for its caller to announce. A PX safety TTL of a few timeouts
 * removes every key in the end.
 *
 * Chat and user ids are UUIDs: `<chat>:<user>` splits at its only colon.
 */

/** Lua: ends an indicator, leaving its tombstone. */
const LUA_END = `
local function finish(key, P, holder, member, ttl)
  redis.call('HSET', key, 'ended', '1')
  redis.call('PEXPIRE', key, ttl)
  redis.call('SREM', P .. 'typing:held:' .. holder, member)
end
`;

/**
 * KEYS: the indicator. ARGV: socket, holder, timeout ms, safety ttl ms, P, member. 1 when it is
 * new (an ended one is not there any more).
 */
const START = `${LUA_NOW}
local h = redis.call('HMGET', KEYS[1], 'holder', 'ended')
local existed = h[1] and not h[2]
if existed and h[1] ~= ARGV[2] then
  redis.call('SREM', ARGV[5] .. 'typing:held:' .. h[1], ARGV[6])
end
redis.call('HDEL', KEYS[1], 'ended')
redis.call('HSET', KEYS[1], 'socket', ARGV[1], 'holder', ARGV[2],
  'deadline', string.format('%.0f', now_ms() + tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', ARGV[5] .. 'typing:held:' .. ARGV[2], ARGV[6])
redis.call('SADD', ARGV[5] .. 'typing:holders', ARGV[2])
if existed then return 0 end
return 1
`;

/** As START, for an indicator that is there; 0 when there is none. */
const RENEW = `${LUA_NOW}
local h = redis.call('HMGET', KEYS[1], 'holder', 'ended')
if not h[1] or h[2] then return 0 end
if h[1] ~= ARGV[2] then redis.call('SREM', ARGV[5] .. 'typing:held:' .. h[1], ARGV[6]) end
redis.call('HSET', KEYS[1], 'socket', ARGV[1], 'holder', ARGV[2],
  'deadline', string.format('%.0f', now_ms() + tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', ARGV[5] .. 'typing:held:' .. ARGV[2], ARGV[6])
redis.call('SADD', ARGV[5] .. 'typing:holders', ARGV[2])
return 1
`;

/**
 * KEYS: the indicator. ARGV: holder, P, member, safety ttl ms. 0: it lapsed and ended now (the
 * caller announces it); positive: ms still to wait; -1: it ended already (and was announced by
 * whoever ended it); -2: another process renewed it since, and its timer takes over; -3: it is
 * not there at all, so Redis lost it: nobody else will announce its end.
 */
const EXPIRE = `${LUA_NOW}${LUA_END}
local h = redis.call('HMGET', KEYS[1], 'holder', 'deadline', 'ended')
if not h[1] then return -3 end
if h[3] then return -1 end
if h[1] ~= ARGV[1] then return -2 end
local left = tonumber(h[2]) - now_ms()
if left > 0 then return left end
finish(KEYS[1], ARGV[2], ARGV[1], ARGV[3], ARGV[4])
return 0
`;

/** KEYS: the indicator. ARGV: P, member, safety ttl ms. 1 when the user was typing there (now ended). */
const STOP = `${LUA_END}
local h = redis.call('HMGET', KEYS[1], 'holder', 'ended')
if not h[1] or h[2] then return 0 end
finish(KEYS[1], ARGV[1], h[1], ARGV[2], ARGV[3])
return 1
`;

/**
 * KEYS: the indicator. ARGV: socket, P, member, safety ttl ms. 1 when that socket held it (now
 * ended).
 */
const DROP = `${LUA_END}
local h = redis.call('HMGET', KEYS[1], 'socket', 'holder', 'ended')
if h[1] ~= ARGV[1] or h[3] then return 0 end
finish(KEYS[1], ARGV[2], h[2], ARGV[3], ARGV[4])
return 1
`;

/**
 * ARGV: P, own pid, safety ttl ms. Ends the indicators of every process whose lease lapsed and
 * returns them (`<chat>:<user>`), each to this caller alone: those it still held, and those whose
 * key expired already with no end announced.
 */
const SWEEP = `${LUA_END}
local P, self, ttl = ARGV[1], ARGV[2], ARGV[3]
local ended = {}
for _, pid in ipairs(redis.call('SMEMBERS', P .. 'typing:holders')) do
  if pid ~= self and redis.call('EXISTS', P .. 'lease:' .. pid) == 0 then
    local held = P .. 'typing:held:' .. pid
    for _, member in ipairs(redis.call('SMEMBERS', held)) do
      local key = P .. 'typing:' .. member
      local h = redis.call('HMGET', key, 'holder', 'ended')
      if not h[1] then
        table.insert(ended, member)
      elseif h[1] == pid and not h[2] then
        finish(key, P, pid, member, ttl)
        table.insert(ended, member)
      end
    end
    redis.call('DEL', held)
    redis.call('SREM', P .. 'typing:holders', pid)
  end
end
return ended
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
    private readonly log: Logger,
    private readonly notes: OutageNotes,
    /** Whether leases can be trusted now (not just after an outage): see RedisPresence.maySweep. */
    private readonly maySweep: () => boolean,
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
    const created = await this.write(START, chatId, userId, socketId);
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
    const renewed = await this.write(RENEW, chatId, userId, socketId);
    if (renewed === 1) {
      this.hold(key, { chatId, userId, socketId, onExpire, timer: undefined });
    }
    return renewed === 1;
  }

  async stop(chatId: string, userId: string): Promise<boolean> {
    const key = this.key(chatId, userId);
    let stopped: number;
    try {
      stopped = await this.call(STOP, key, this.prefix, member(chatId, userId), this.ttlMs);
    } catch (err) {
      // Not forgotten: if Redis cannot be asked, the timer still ends the indicator.
      throw asAppError(err);
    }
    this.forget(key);
    return stopped === 1;
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
      entries.map(({ key, entry }) =>
        this.call(DROP, key, socketId, this.prefix, member(entry.chatId, entry.userId), this.ttlMs),
      ),
    );
    const dropped: { chatId: string; userId: string }[] = [];
    results.forEach((result, i) => {
      const { key, entry } = entries[i]!;
      if (result.status === 'rejected') {
        if (isOutage(result.reason)) {
          this.notes.warn('redis: typing indicators left to expire', result.reason);
        } else {
          this.log.warn({ err: reason(result.reason) }, 'redis: typing indicator left to expire');
        }
        return;
      }
      if (this.held.get(key) === entry) this.forget(key);
      if (result.value === 1) dropped.push({ chatId: entry.chatId, userId: entry.userId });
    });
    return dropped;
  }

  /**
   * Ends the indicators of processes that died (their lease lapsed, or they closed) and returns
   * them, to announce `typing:stop`: each to one caller only. Nothing while leases cannot be
   * trusted yet after an outage, nor while Redis cannot be asked (the next sweep catches up).
   */
  async sweep(): Promise<{ chatId: string; userId: string }[]> {
    if (!this.maySweep()) return [];
    let ended: string[];
    try {
      const args = [this.prefix, this.pid, this.ttlMs];
      ended = await runScript<string[]>(this.client, SWEEP, [], args);
    } catch (err) {
      if (isOutage(err)) return [];
      throw err;
    }
    return ended.flatMap((m) => {
      const at = m.indexOf(':');
      return at > 0 ? [{ chatId: m.slice(0, at), userId: m.slice(at + 1) }] : [];
    });
  }

  /**
   * Forgets this process's timers (shutdown). Its indicators stay in Redis until its lease is
   * gone: then another process's sweep ends them and announces it.
   */
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
      const name = member(entry.chatId, entry.userId);
      left = await this.call(EXPIRE, key, this.pid, this.prefix, name, this.ttlMs);
    } catch {
      left = RETRY_MS; // Redis is down (logged by the connection): ask again
    }
    const current = this.held.get(key) === entry; // else renewed, stopped or dropped meanwhile
    // 0: this script ended it, so this process announces it, whatever happened here since.
    // -3: Redis lost it while this process held it (a stop or drop would have left a tombstone).
    if (left === 0 || (left === -3 && current)) {
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

  private write(script: string, chatId: string, userId: string, socketId: string): Promise<number> {
    const args = [socketId, this.pid, this.timeoutMs, this.ttlMs, this.prefix];
    return this.call(script, this.key(chatId, userId), ...args, member(chatId, userId)).catch(
      (err: unknown) => {
        throw asAppError(err);
      },
    );
  }

  private key(chatId: string, userId: string): string {
    return `${this.prefix}typing:${member(chatId, userId)}`;
  }

  /** Bounded by the connection (see `boundCommands`): a frozen Redis fails it after the call timeout. */
  private call(script: string, key: string, ...args: (string | number)[]): Promise<number> {
    return runScript<number>(this.client, script, [key], args);
  }
}

/** An indicator's name in a process's set, and its key's tail. */
const member = (chatId: string, userId: string): string => `${chatId}:${userId}`;
