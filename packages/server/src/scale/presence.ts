import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { PresenceStore } from '../services/ports.js';
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
 * Presence across processes, in Redis (P is the key prefix):
 *
 *   P lease:<pid>            this process is alive; it renews the lease, which expires if it dies
 *   P alive                  sorted set pid -> when it last renewed: the processes to sweep, and
 *                            the last time each was known alive (its users' last-seen when it dies)
 *   P epoch                  a random value, made again by whoever finds it missing: a process that
 *                            sees another value than it last saw knows Redis lost its data
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
 * A socket id can move between processes: connection state recovery brings a socket back, same
 * id, on whichever process the client reaches, while the old process may not have noticed yet
 * that it left. So the user's hashes say which process owns each socket and place, the newest
 * registration takes it over, and a process removes only what it owns: a late disconnect,
 * release or resync of the old process leaves the new one's entry alone.
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
      local us = P .. 'user:' .. user .. ':sockets'
      if redis.call('HGET', us, sock) == pid then
        redis.call('HDEL', us, sock)
        touched[user] = true
      end
    end
  end
  local pp = P .. 'proc:' .. pid .. ':places'
  flat = redis.call('HGETALL', pp)
  for i = 1, #flat, 2 do
    local sock, user = flat[i], flat[i + 1]
    if keep_places[sock] == nil then
      redis.call('HDEL', pp, sock)
      local up = P .. 'user:' .. user .. ':places'
      if redis.call('HGET', up, sock) == pid then redis.call('HDEL', up, sock) end
    end
  end
  return touched
end

-- A user left without sockets who is still announced online waits in pending: settled by the
-- grace timer of the process that saw the last socket go, or else by a sweep.
local function orphaned(P, user, since)
  if redis.call('HLEN', P .. 'user:' .. user .. ':sockets') == 0
    and redis.call('SISMEMBER', P .. 'online', user) == 1 then
    redis.call('ZADD', P .. 'pending', 'NX', string.format('%.0f', since), user)
  end
end

-- Registers a socket or place of pid's in the user's hash (kind: 'sockets' or 'places'), taking it
-- over from a process that held it before; unless that process is alive and still holds it, and
-- only_if_free says the registration is stale (a resync). True when registered.
local function own(P, pid, kind, user, sock, only_if_free)
  local uh = P .. 'user:' .. user .. ':' .. kind
  local old = redis.call('HGET', uh, sock)
  if old and old ~= pid then
    if only_if_free and redis.call('EXISTS', P .. 'lease:' .. old) == 1 then
      redis.call('HDEL', P .. 'proc:' .. pid .. ':' .. kind, sock)
      return false
    end
    redis.call('HDEL', P .. 'proc:' .. old .. ':' .. kind, sock)
  end
  redis.call('HSET', uh, sock, pid)
  redis.call('HSET', P .. 'proc:' .. pid .. ':' .. kind, sock, user)
  return true
end
`;

/** ARGV: P, pid, user, socket. 1 when the user must be announced online. */
const CONNECT = `${LUA_FORGET}
local P, pid, user, sock = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
own(P, pid, 'sockets', user, sock, false)
redis.call('ZREM', P .. 'pending', user)
return redis.call('SADD', P .. 'online', user)
`;

/** ARGV: P, pid, user, socket. 1 when that was the user's last socket anywhere. */
const DISCONNECT = `${LUA_NOW}
local P, pid, user, sock = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('HDEL', P .. 'proc:' .. pid .. ':sockets', sock)
local us = P .. 'user:' .. user .. ':sockets'
if redis.call('HGET', us, sock) ~= pid then return 0 end
redis.call('HDEL', us, sock)
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

/**
 * ARGV: P, pid, user, socket, max. 1 when the socket holds a place. At the cap, the places of
 * processes whose lease lapsed (killed, and not swept yet) are given up first: a user whose
 * process died can reconnect elsewhere at once, not only after the next sweep.
 */
const CLAIM = `${LUA_FORGET}
local P, pid, user, sock, max = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local up = P .. 'user:' .. user .. ':places'
if redis.call('HEXISTS', up, sock) == 0 and redis.call('HLEN', up) >= max then
  local flat = redis.call('HGETALL', up)
  for i = 1, #flat, 2 do
    local held, holder = flat[i], flat[i + 1]
    if redis.call('EXISTS', P .. 'lease:' .. holder) == 0 then
      redis.call('HDEL', up, held)
      redis.call('HDEL', P .. 'proc:' .. holder .. ':places', held)
    end
  end
  if redis.call('HLEN', up) >= max then return 0 end
end
own(P, pid, 'places', user, sock, false)
return 1
`;

/** ARGV: P, pid, user, socket. */
const RELEASE = `
local P, pid, user, sock = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('HDEL', P .. 'proc:' .. pid .. ':places', sock)
local up = P .. 'user:' .. user .. ':places'
if redis.call('HGET', up, sock) == pid then redis.call('HDEL', up, sock) end
return 0
`;

/** ARGV: P, pid, lease ms. 1 when the lease was still there (0: swept, or Redis lost it). */
const RENEW = `${LUA_NOW}
local P, pid, ttl = ARGV[1], ARGV[2], ARGV[3]
local lease = P .. 'lease:' .. pid
local existed = redis.call('EXISTS', lease)
redis.call('SET', lease, '1', 'PX', ttl)
redis.call('ZADD', P .. 'alive', string.format('%.0f', now_ms()), pid)
return existed
`;

/** ARGV: P, a fresh value. The epoch, made now if it was missing. */
const EPOCH = `
redis.call('SET', ARGV[1] .. 'epoch', ARGV[2], 'NX')
return redis.call('GET', ARGV[1] .. 'epoch')
`;

/**
 * ARGV: P, own pid, orphan ms. Forgets every process whose lease lapsed, and settles users left
 * pending longer than the orphan time (their process died inside the grace, or Redis was down when
 * it ended); returns the users now to announce offline, each to this caller alone, as user / ms
 * pairs: when each was last seen (their process's last renewal; when their last socket went).
 */
const SWEEP = `${LUA_NOW}${LUA_FORGET}
local P, self, orphan = ARGV[1], ARGV[2], tonumber(ARGV[3])
local seen = {}
local flat = redis.call('ZRANGE', P .. 'alive', 0, -1, 'WITHSCORES')
for i = 1, #flat, 2 do
  local pid, last = flat[i], tonumber(flat[i + 1])
  if pid ~= self and redis.call('EXISTS', P .. 'lease:' .. pid) == 0 then
    for user in pairs(forget(P, pid, {}, {})) do
      if (seen[user] or 0) < last then seen[user] = last end
    end
    redis.call('ZREM', P .. 'alive', pid)
  end
end
local stale = redis.call('ZRANGEBYSCORE', P .. 'pending', '-inf',
  string.format('%.0f', now_ms() - orphan), 'WITHSCORES')
for i = 1, #stale, 2 do
  local user, since = stale[i], tonumber(stale[i + 1])
  redis.call('ZREM', P .. 'pending', user)
  if (seen[user] or 0) < since then seen[user] = since end
end
local offline = {}
for user, last in pairs(seen) do
  if redis.call('HLEN', P .. 'user:' .. user .. ':sockets') == 0
    and redis.call('SREM', P .. 'online', user) == 1 then
    redis.call('ZREM', P .. 'pending', user)
    table.insert(offline, user)
    table.insert(offline, string.format('%.0f', last))
  end
end
return offline
`;

/**
 * ARGV: P, pid, the epoch last seen, a fresh one, n sockets, m places, then n socket/user pairs,
 * m place socket/user pairs, and user/ms pairs of users whose last socket here went without Redis
 * settling them yet. Makes Redis hold exactly this process's sockets and places (but those that
 * another live process took over), and puts each such user in pending when they are left without
 * sockets: a sweep settles them offline. Returns the epoch and the users to announce online again.
 */
const RESYNC = `${LUA_NOW}${LUA_FORGET}
local P, pid, known, fresh = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local n, m = tonumber(ARGV[5]), tonumber(ARGV[6])
local sockets, places, unsettled = {}, {}, {}
local i = 7
for _ = 1, n do sockets[ARGV[i]] = ARGV[i + 1]; i = i + 2 end
for _ = 1, m do places[ARGV[i]] = ARGV[i + 1]; i = i + 2 end
for j = i, #ARGV, 2 do unsettled[ARGV[j]] = tonumber(ARGV[j + 1]) end
redis.call('SET', P .. 'epoch', fresh, 'NX')
local epoch = redis.call('GET', P .. 'epoch')
-- Redis lost everything since this process last looked: who was announced online is lost too.
local wiped = epoch ~= known
local now = now_ms()
for user in pairs(forget(P, pid, sockets, places)) do orphaned(P, user, now) end
local online = {}
for sock, user in pairs(sockets) do
  if own(P, pid, 'sockets', user, sock, true) then
    redis.call('ZREM', P .. 'pending', user)
    if redis.call('SADD', P .. 'online', user) == 1 then table.insert(online, user) end
  end
end
for sock, user in pairs(places) do own(P, pid, 'places', user, sock, true) end
for user, since in pairs(unsettled) do
  if wiped and redis.call('HLEN', P .. 'user:' .. user .. ':sockets') == 0 then
    redis.call('SADD', P .. 'online', user)
  end
  orphaned(P, user, since)
end
return { epoch, online }
`;

/**
 * ARGV: P, pid. A clean shutdown: the process's registration goes at once, announcing nothing
 * (its sockets' disconnects did that); a user it leaves socketless but online waits in pending,
 * for the other processes to settle. When no other process is alive, nobody would: the users
 * pending with no socket are settled here instead, returned as user / ms pairs (when their last
 * socket went). Atomic, so of processes stopping together the last one settles everyone.
 */
const CLOSE = `${LUA_NOW}${LUA_FORGET}
local P, pid = ARGV[1], ARGV[2]
local now = now_ms()
for user in pairs(forget(P, pid, {}, {})) do orphaned(P, user, now) end
redis.call('DEL', P .. 'lease:' .. pid)
redis.call('ZREM', P .. 'alive', pid)
local offline = {}
local others = redis.call('ZRANGE', P .. 'alive', 0, -1)
for _, other in ipairs(others) do
  if redis.call('EXISTS', P .. 'lease:' .. other) == 1 then return offline end
end
local pending = redis.call('ZRANGE', P .. 'pending', 0, -1, 'WITHSCORES')
for i = 1, #pending, 2 do
  local user, since = pending[i], pending[i + 1]
  redis.call('ZREM', P .. 'pending', user)
  if redis.call('HLEN', P .. 'user:' .. user .. ':sockets') == 0
    and redis.call('SREM', P .. 'online', user) == 1 then
    table.insert(offline, user)
    table.insert(offline, since)
  end
end
return offline
`;

export interface PresenceTimings {
  /** How long a process's lease lasts unrenewed: how soon after dying its users can be swept. */
  leaseTtlMs: number;
  renewEveryMs: number;
  /** How long a socketless user may stay pending before a sweep settles them offline. */
  orphanMs: number;
}

/** A user whose last socket here went, until Redis settled them: see `resync`. */
interface Unsettled {
  /** When their last socket here went (ms, this process's clock). */
  since: number;
  /** A disconnect or settle failed: only a resync can still settle them. */
  failed: boolean;
}

export class RedisPresence implements PresenceStore {
  /** This process's live sockets, socket -> user: the truth `resync` restores Redis to. */
  private readonly sockets = new Map<string, string>();
  private readonly places = new Map<string, string>();
  /**
   * Users whose last socket here went and whom Redis has not settled yet. A disconnect or settle
   * that fails during an outage would otherwise leave them online for good once Redis comes back
   * without them (a restart without persistence): `resync` puts them back in pending.
   */
  private readonly unsettled = new Map<string, Unsettled>();
  private left = false;
  /** The epoch this process last saw in Redis: another one means Redis lost its data meanwhile. */
  private epoch = '';
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  /** Redis may have lost or missed something of ours: bring it back to `sockets` and `places`. */
  private resyncWanted = false;
  /** When Redis last answered again after an outage: sweeping waits a lease after it (see `sweep`). */
  private readyAt = Date.now();

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly pid: string,
    private readonly timings: PresenceTimings,
    private readonly log: Logger,
    private readonly notes: OutageNotes,
    private readonly onRestored: (userIds: string[]) => void,
  ) {}

  /** Takes the lease and keeps it renewed. */
  async start(): Promise<void> {
    await this.call(RENEW, this.pid, this.timings.leaseTtlMs);
    this.epoch = await this.call<string>(EPOCH, randomUUID());
    this.renewTimer = setInterval(() => void this.renew(), this.timings.renewEveryMs);
    this.renewTimer.unref();
  }

  /** Redis answers again after an outage: renew now and restore whatever Redis lost. */
  reconnected(): void {
    this.readyAt = Date.now();
    this.resyncWanted = true;
    void this.renew();
  }

  /**
   * Whether other processes can be judged dead by their leases: not within a lease of this
   * process's own return from an outage, since every process's lease may have lapsed in it and
   * the others need a renewal's time to take theirs again. (The typing sweep asks too.)
   */
  maySweep(): boolean {
    return Date.now() - this.readyAt >= this.timings.leaseTtlMs;
  }

  async connect(userId: string, socketId: string): Promise<boolean> {
    this.sockets.set(socketId, userId);
    const announce = (await this.guard(this.call(CONNECT, this.pid, userId, socketId))) === 1;
    this.unsettled.delete(userId);
    return announce;
  }

  async disconnect(userId: string, socketId: string): Promise<boolean> {
    this.sockets.delete(socketId);
    try {
      const last = (await this.guard(this.call(DISCONNECT, this.pid, userId, socketId))) === 1;
      if (last) this.unsettled.set(userId, { since: Date.now(), failed: false });
      return last;
    } catch (err) {
      this.unsettledFailed(userId);
      throw err;
    }
  }

  async settleOffline(userId: string): Promise<boolean> {
    try {
      const offline = (await this.guard(this.call(SETTLE, userId))) === 1;
      this.unsettled.delete(userId);
      return offline;
    } catch (err) {
      this.unsettledFailed(userId);
      throw err;
    }
  }

  /**
   * Fails open: while Redis cannot answer (down, or slower than the call timeout), a user counts
   * online when they have a socket on this process, and everyone else offline. Sign-in, chat
   * lists and searches go on with what this process knows rather than failing; logged once per
   * outage.
   */
  async onlineAmong(userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    try {
      const flags = await this.client.smIsMember(`${this.prefix}online`, [...userIds]);
      return new Set(userIds.filter((_id, i) => flags[i] === 1));
    } catch (err) {
      if (!isOutage(err)) throw err;
      this.notes.warn('redis: presence answered from this process’s own sockets', err);
      const here = new Set(this.sockets.values());
      return new Set(userIds.filter((id) => here.has(id)));
    }
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
      if (isOutage(err)) this.notes.warn('redis: socket places not counted, admitted', err);
      else this.log.warn({ err: reason(err), userId }, 'redis: socket place not counted, admitted');
      held = true;
    }
    if (held) this.places.set(socketId, userId);
    return held;
  }

  /** Never fails for an outage: the place is gone from `places`, and `resync` tells Redis. */
  async releasePlace(userId: string, socketId: string): Promise<void> {
    this.places.delete(socketId);
    try {
      await this.call(RELEASE, this.pid, userId, socketId);
    } catch (err) {
      this.resyncWanted = true;
      if (!isOutage(err)) throw err;
    }
  }

  /**
   * Sweeps nothing within a lease of this process's own return (see `maySweep`), nor while Redis
   * cannot be asked (the outage is logged by the connection; the next sweep catches up).
   */
  async sweep(): Promise<{ userId: string; lastSeenAt: Date }[]> {
    if (!this.maySweep()) return [];
    let flat: string[];
    try {
      flat = await this.call<string[]>(SWEEP, this.pid, this.timings.orphanMs);
    } catch (err) {
      if (isOutage(err)) return [];
      throw err;
    }
    const swept: { userId: string; lastSeenAt: Date }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      swept.push({ userId: flat[i]!, lastSeenAt: new Date(Number(flat[i + 1])) });
    }
    return swept;
  }

  /**
   * Stops renewing and takes this process's lease and registration out of Redis; when it was the
   * last process alive, settles the users still pending (see CLOSE).
   */
  async leave(): Promise<{ userId: string; lastSeenAt: Date }[]> {
    if (this.left) return [];
    this.left = true;
    clearInterval(this.renewTimer);
    await this.renewing;
    let flat: string[];
    try {
      flat = await this.call<string[]>(CLOSE, this.pid);
    } catch (err) {
      // Its lease lapses by itself and a sweep by another process forgets the rest.
      this.log.warn({ err: reason(err) }, 'redis: could not deregister this process');
      return [];
    }
    const settled: { userId: string; lastSeenAt: Date }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      settled.push({ userId: flat[i]!, lastSeenAt: new Date(Number(flat[i + 1])) });
    }
    return settled;
  }

  /** Shutdown without the settling: `leave` unless it ran already. */
  async close(): Promise<void> {
    await this.leave();
  }

  private unsettledFailed(userId: string): void {
    const entry = this.unsettled.get(userId);
    if (entry) entry.failed = true;
    else this.unsettled.set(userId, { since: Date.now(), failed: true });
  }

  private renew(): Promise<void> {
    this.renewing ??= (async () => {
      try {
        const existed = await this.call(RENEW, this.pid, this.timings.leaseTtlMs);
        if (existed === 0 || this.resyncWanted) await this.resync();
      } catch (err) {
        // An outage is logged once, by the connection; anything else is worth a line each time.
        if (!isOutage(err)) this.log.warn({ err: reason(err) }, 'redis: lease renewal failed');
      } finally {
        this.renewing = undefined;
      }
    })();
    return this.renewing;
  }

  private async resync(): Promise<void> {
    this.resyncWanted = false;
    // Built and sent in one tick: later calls of this process reach Redis after it, in order.
    const unsettled = [...this.unsettled];
    const args = [
      this.pid,
      this.epoch,
      randomUUID(),
      this.sockets.size,
      this.places.size,
      ...[...this.sockets].flat(),
      ...[...this.places].flat(),
      ...unsettled.flatMap(([userId, { since }]) => [userId, since]),
    ];
    try {
      const [epoch, online] = await this.call<[string, string[]]>(RESYNC, ...args);
      this.epoch = epoch;
      // Those whose disconnect or settle failed are in pending now, for a sweep to settle.
      for (const [userId, entry] of unsettled) {
        if (entry.failed && this.unsettled.get(userId) === entry) this.unsettled.delete(userId);
      }
      if (online.length > 0) {
        this.log.info({ users: online.length }, 'redis: presence restored');
        this.onRestored(online);
      }
    } catch (err) {
      this.resyncWanted = true;
      throw err;
    }
  }

  /**
   * A call that failed may or may not have reached Redis: the next renewal resyncs. An outage is
   * `unavailable` to the caller.
   */
  private async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      this.resyncWanted = true;
      throw asAppError(err);
    }
  }

  /** Bounded by the connection (see `boundCommands`): a frozen Redis fails it after the call timeout. */
  private call<T = number>(script: string, ...args: (string | number)[]): Promise<T> {
    return runScript<T>(this.client, script, [], [this.prefix, ...args]);
  }
}
