import type { Logger } from 'pino';
import type { PresenceStore } from '../services/ports.js';
import { LUA_NOW, reason, runScript, withDeadline, type RedisClient } from './client.js';

/*
 * Presence across processes, in Redis (P is the key prefix):
 *
 *   P lease:<pid>            this process is alive; it renews the lease, which expires if it dies
 *   P procs                  set of process ids that registered anything, for the sweep
 *   P proc:<pid>:sockets     hash socket -> user: the process's live sockets
 *   P proc:<pid>:places      hash socket -> user: the socket places its handshakes hold
 *   P user:<uid>:sockets     hash socket -> pid: the user's live sockets, every process together
 *   P user:<uid>:places      hash socket -> pid: the user's places (MAX_SOCKETS_PER_USER)
 *   P online                 set of users announced online
 *   P pending                sorted set user -> when their last socket went, until settled
 *
 * Every transition is one Lua script, so of two processes racing, one alone is told to announce.
 * The scripts name their keys themselves: one Redis server (or a primary with replicas), not a
 * Redis Cluster.
 *
 * Each process also keeps its own sockets and places in memory. That copy is what Redis is
 * brought back to when it lost track of them (a restart without persistence, a lease that lapsed
 * while the process was cut off and another swept it, a disconnect Redis never heard of): see
 * `resync`.
 */

/** Removes the process's sockets and places absent from the keep tables; returns their users. */
const LUA_FORGET = `
local function forget(P, pid, keep_sockets, keep_places)
  local touched = {}
  local ps = P .. 'proc:' .. pid .. ':sockets'
  local flat = redis.call('HGETALL', ps)
  for i = 1, #flat, 2 do
    local sock, user = flat[i], flat[i + 1]
    if keep_sockets[sock] == nil then
      redis.call('HDEL', ps, sock)
      redis.call('HDEL', P .. 'user:' .. user .. ':sockets', sock)
      touched[user] = true
    end
  end
  local pp = P .. 'proc:' .. pid .. ':places'
  flat = redis.call('HGETALL', pp)
  for i = 1, #flat, 2 do
    local sock, user = flat[i], flat[i + 1]
    if keep_places[sock] == nil then
      redis.call('HDEL', pp, sock)
      redis.call('HDEL', P .. 'user:' .. user .. ':places', sock)
    end
  end
  return touched
end

-- A user left without sockets who is still announced online waits in pending: settled by the
-- grace timer of the process that saw the last socket go, or else by a sweep.
local function orphaned(P, user, now)
  if redis.call('HLEN', P .. 'user:' .. user .. ':sockets') == 0
    and redis.call('SISMEMBER', P .. 'online', user) == 1 then
    redis.call('ZADD', P .. 'pending', 'NX', string.format('%.0f', now), user)
  end
end
`;

/** ARGV: P, pid, user, socket. 1 when the user must be announced online. */
const CONNECT = `
local P, pid, user, sock = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('HSET', P .. 'user:' .. user .. ':sockets', sock, pid)
redis.call('HSET', P .. 'proc:' .. pid .. ':sockets', sock, user)
redis.call('ZREM', P .. 'pending', user)
return redis.call('SADD', P .. 'online', user)
`;

/** ARGV: P, user, socket. 1 when that was the user's last socket anywhere. */
const DISCONNECT = `${LUA_NOW}
local P, user, sock = ARGV[1], ARGV[2], ARGV[3]
local us = P .. 'user:' .. user .. ':sockets'
local owner = redis.call('HGET', us, sock)
if not owner then return 0 end
redis.call('HDEL', us, sock)
redis.call('HDEL', P .. 'proc:' .. owner .. ':sockets', sock)
if redis.call('HLEN', us) > 0 then return 0 end
if redis.call('SISMEMBER', P .. 'online', user) == 1 then
  redis.call('ZADD', P .. 'pending', string.format('%.0f', now_ms()), user)
end
return 1
`;

/** ARGV: P, user. 1 when the user has no socket and was announced online (now offline). */
const SETTLE = `
local P, user = ARGV[1], ARGV[2]
if redis.call('HLEN', P .. 'user:' .. user .. ':sockets') > 0 then return 0 end
redis.call('ZREM', P .. 'pending', user)
return redis.call('SREM', P .. 'online', user)
`;

/** ARGV: P, pid, user, socket, max. 1 when the socket holds a place. */
const CLAIM = `
local P, pid, user, sock, max = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local up = P .. 'user:' .. user .. ':places'
if redis.call('HEXISTS', up, sock) == 0 then
  if redis.call('HLEN', up) >= max then return 0 end
  redis.call('HSET', up, sock, pid)
  redis.call('HSET', P .. 'proc:' .. pid .. ':places', sock, user)
end
return 1
`;

/** ARGV: P, user, socket. */
const RELEASE = `
local P, user, sock = ARGV[1], ARGV[2], ARGV[3]
local up = P .. 'user:' .. user .. ':places'
local owner = redis.call('HGET', up, sock)
if owner then
  redis.call('HDEL', up, sock)
  redis.call('HDEL', P .. 'proc:' .. owner .. ':places', sock)
end
return 0
`;

/** ARGV: P, pid, lease ms. 1 when the lease was still there (0: swept, or Redis lost it). */
const RENEW = `
local P, pid, ttl = ARGV[1], ARGV[2], ARGV[3]
local lease = P .. 'lease:' .. pid
local existed = redis.call('EXISTS', lease)
redis.call('SET', lease, '1', 'PX', ttl)
redis.call('SADD', P .. 'procs', pid)
return existed
`;

/**
 * ARGV: P, own pid, orphan ms. Forgets every process whose lease lapsed, and settles users left
 * pending longer than the orphan time (their process died inside the grace, or Redis was down when
 * it ended); returns the users now to announce offline, each to this caller alone.
 */
const SWEEP = `${LUA_NOW}${LUA_FORGET}
local P, self, orphan = ARGV[1], ARGV[2], tonumber(ARGV[3])
local candidates = {}
for _, pid in ipairs(redis.call('SMEMBERS', P .. 'procs')) do
  if pid ~= self and redis.call('EXISTS', P .. 'lease:' .. pid) == 0 then
    for user in pairs(forget(P, pid, {}, {})) do candidates[user] = true end
    redis.call('SREM', P .. 'procs', pid)
  end
end
local stale = redis.call('ZRANGEBYSCORE', P .. 'pending', '-inf', string.format('%.0f', now_ms() - orphan))
for _, user in ipairs(stale) do
  redis.call('ZREM', P .. 'pending', user)
  candidates[user] = true
end
local offline = {}
for user in pairs(candidates) do
  if redis.call('HLEN', P .. 'user:' .. user .. ':sockets') == 0
    and redis.call('SREM', P .. 'online', user) == 1 then
    redis.call('ZREM', P .. 'pending', user)
    table.insert(offline, user)
  end
end
return offline
`;

/**
 * ARGV: P, pid, n, then n socket/user pairs, then place socket/user pairs. Makes Redis hold
 * exactly this process's sockets and places; returns the users to announce online again.
 */
const RESYNC = `${LUA_NOW}${LUA_FORGET}
local P, pid, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local sockets, places = {}, {}
for i = 4, 3 + 2 * n, 2 do sockets[ARGV[i]] = ARGV[i + 1] end
for i = 4 + 2 * n, #ARGV, 2 do places[ARGV[i]] = ARGV[i + 1] end
local now = now_ms()
for user in pairs(forget(P, pid, sockets, places)) do orphaned(P, user, now) end
local online = {}
for sock, user in pairs(sockets) do
  redis.call('HSET', P .. 'proc:' .. pid .. ':sockets', sock, user)
  redis.call('HSET', P .. 'user:' .. user .. ':sockets', sock, pid)
  redis.call('ZREM', P .. 'pending', user)
  if redis.call('SADD', P .. 'online', user) == 1 then table.insert(online, user) end
end
for sock, user in pairs(places) do
  redis.call('HSET', P .. 'proc:' .. pid .. ':places', sock, user)
  redis.call('HSET', P .. 'user:' .. user .. ':places', sock, pid)
end
return online
`;

/**
 * ARGV: P, pid. A clean shutdown: the process's registration goes at once, announcing nothing
 * (its sockets' disconnects did that); a user it leaves socketless but online waits in pending.
 */
const CLOSE = `${LUA_NOW}${LUA_FORGET}
local P, pid = ARGV[1], ARGV[2]
local now = now_ms()
for user in pairs(forget(P, pid, {}, {})) do orphaned(P, user, now) end
redis.call('DEL', P .. 'lease:' .. pid)
redis.call('SREM', P .. 'procs', pid)
return 0
`;

export interface PresenceTimings {
  /** How long a process's lease lasts unrenewed: how soon after dying its users can be swept. */
  leaseTtlMs: number;
  renewEveryMs: number;
  /** How long a socketless user may stay pending before a sweep settles them offline. */
  orphanMs: number;
  /** How long a call may wait for Redis. */
  callTimeoutMs: number;
}

export class RedisPresence implements PresenceStore {
  /** This process's live sockets, socket -> user: the truth `resync` restores Redis to. */
  private readonly sockets = new Map<string, string>();
  private readonly places = new Map<string, string>();
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  /** Redis may have lost or missed something of ours: bring it back to `sockets` and `places`. */
  private resyncWanted = false;
  /** When the connection last became ready: sweeping waits a lease after it (see `sweep`). */
  private readyAt = Date.now();

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly pid: string,
    private readonly timings: PresenceTimings,
    private readonly log: Logger,
    private readonly onRestored: (userIds: string[]) => void,
  ) {}

  /** Takes the lease and keeps it renewed. */
  async start(): Promise<void> {
    await this.call(RENEW, this.pid, this.timings.leaseTtlMs);
    this.renewTimer = setInterval(() => void this.renew(), this.timings.renewEveryMs);
    this.renewTimer.unref();
  }

  /** The connection is back after an outage: renew now and restore whatever Redis lost. */
  reconnected(): void {
    this.readyAt = Date.now();
    this.resyncWanted = true;
    void this.renew();
  }

  async connect(userId: string, socketId: string): Promise<boolean> {
    this.sockets.set(socketId, userId);
    return (await this.guard(this.call(CONNECT, this.pid, userId, socketId))) === 1;
  }

  async disconnect(userId: string, socketId: string): Promise<boolean> {
    this.sockets.delete(socketId);
    return (await this.guard(this.call(DISCONNECT, userId, socketId))) === 1;
  }

  async settleOffline(userId: string): Promise<boolean> {
    return (await this.call(SETTLE, userId)) === 1;
  }

  async onlineAmong(userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const flags = await withDeadline(
      this.client.smIsMember(`${this.prefix}online`, [...userIds]),
      this.timings.callTimeoutMs,
    );
    return new Set(userIds.filter((_id, i) => flags[i] === 1));
  }

  /**
   * Fails open: while Redis cannot count a user's places, the handshake is let through (and the
   * place remembered here, for `resync` to count once Redis is back). MAX_SOCKETS_PER_USER is a
   * guard against runaway clients; a Redis outage must never lock every user out.
   */
  async claimPlace(userId: string, socketId: string, max: number): Promise<boolean> {
    let held: boolean;
    try {
      held = (await this.call(CLAIM, this.pid, userId, socketId, max)) === 1;
    } catch (err) {
      this.resyncWanted = true;
      this.log.warn({ err: reason(err), userId }, 'redis: socket place not counted, admitted');
      held = true;
    }
    if (held) this.places.set(socketId, userId);
    return held;
  }

  async releasePlace(userId: string, socketId: string): Promise<void> {
    this.places.delete(socketId);
    await this.guard(this.call(RELEASE, userId, socketId));
  }

  /**
   * Sweeps nothing within a lease of this process's own reconnection: after an outage every
   * process's lease may have lapsed, and the others need a renewal's time to take theirs again
   * before their users are taken for dead.
   */
  async sweep(): Promise<string[]> {
    if (Date.now() - this.readyAt < this.timings.leaseTtlMs) return [];
    return this.call<string[]>(SWEEP, this.pid, this.timings.orphanMs);
  }

  /** Stops renewing and takes this process's lease and registration out of Redis. */
  async close(): Promise<void> {
    clearInterval(this.renewTimer);
    await this.renewing;
    try {
      await this.call(CLOSE, this.pid);
    } catch (err) {
      // Its lease lapses by itself and a sweep by another process forgets the rest.
      this.log.warn({ err: reason(err) }, 'redis: could not deregister this process');
    }
  }

  private renew(): Promise<void> {
    this.renewing ??= (async () => {
      try {
        const existed = await this.call(RENEW, this.pid, this.timings.leaseTtlMs);
        if (existed === 0 || this.resyncWanted) await this.resync();
      } catch (err) {
        // An outage is logged once, by the connection; anything else is worth a line each time.
        if (this.client.isReady) this.log.warn({ err: reason(err) }, 'redis: lease renewal failed');
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
  }

  private async resync(): Promise<void> {
    this.resyncWanted = false;
    // Built and sent in one tick: later calls of this process reach Redis after it, in order.
    const args = [
      this.pid,
      this.sockets.size,
      ...[...this.sockets].flat(),
      ...[...this.places].flat(),
    ];
    try {
      const online = await this.call<string[]>(RESYNC, ...args);
      if (online.length > 0) {
        this.log.info({ users: online.length }, 'redis: presence restored');
        this.onRestored(online);
      }
    } catch (err) {
      this.resyncWanted = true;
      throw err;
    }
  }

  /** A call that failed may or may not have reached Redis: the next renewal resyncs. */
  private async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      this.resyncWanted = true;
      throw err;
    }
  }

  private call<T = number>(script: string, ...args: (string | number)[]): Promise<T> {
    return withDeadline(
      runScript<T>(this.client, script, [], [this.prefix, ...args]),
      this.timings.callTimeoutMs,
    );
  }
}
