import type { IceCandidate, UserSummary } from '@parley/protocol';
import type { CallRecord, CallStore, EndedCall, FoundCall } from '../services/ports.js';
import { CALL_TOMBSTONE_MS, HELD_CANDIDATES } from '../services/in-process-calls.js';
import { asAppError, isOutage, LUA_NOW, runScript, type RedisClient } from './client.js';

/*
 * Calls across processes (P is the key prefix):
 *
 *   P call:<id>          hash: state (ringing, connected, ended), the parties, the chat, media,
 *                        the caller's summary (JSON), each party's socket in the call and the
 *                        process holding it, the ring deadline, answeredAt and endedAt (Redis's
 *                        clock). An ended call stays as a tombstone for a day: its id is taken,
 *                        and its parties are known
 *   P call:<id>:held     list: the caller's candidates (JSON) while the call rings
 *   P user:<uid>:call    the call the user is in (ringing or connected): busy
 *   P calls:live         set of the calls ringing or connected, for the sweep
 *
 * Every transition is one Lua script, so of racing processes one alone wins it: a call is answered
 * once and ends once. The sweep ends the calls whose ring ran out (the inviting process's timer
 * normally ends them first) or whose party's socket was on a process whose lease lapsed
 * (`P lease:<pid>`, see presence.ts). Ids are UUIDs; the scripts name their keys themselves (one
 * Redis server, not a Redis Cluster).
 */

/** Lua: ends a live call, leaving its tombstone; returns the hash, flat. */
const LUA_END = `
local function end_call(P, id, now, ttl)
  local key = P .. 'call:' .. id
  redis.call('HSET', key, 'state', 'ended', 'endedAt', string.format('%.0f', now))
  redis.call('PEXPIRE', key, ttl)
  redis.call('DEL', key .. ':held')
  redis.call('SREM', P .. 'calls:live', id)
  for _, field in ipairs({ 'callerId', 'calleeId' }) do
    local ukey = P .. 'user:' .. redis.call('HGET', key, field) .. ':call'
    if redis.call('GET', ukey) == id then redis.call('DEL', ukey) end
  end
  return redis.call('HGETALL', key)
end
`;

/** Lua: whether the user's call index names a call that is live. */
const LUA_IN_CALL = `
local function in_call(P, user)
  local id = redis.call('GET', P .. 'user:' .. user .. ':call')
  if not id then return false end
  local state = redis.call('HGET', P .. 'call:' .. id, 'state')
  return state == 'ringing' or state == 'connected'
end
`;

/**
 * ARGV: P, id, caller id, callee id, ring ms, tombstone ms, pid, chat, media, caller JSON, caller
 * socket.
 */
const INVITE = `${LUA_NOW}${LUA_IN_CALL}
local P, id = ARGV[1], ARGV[2]
local key = P .. 'call:' .. id
if redis.call('EXISTS', key) == 1 then return 'conflict' end
if in_call(P, ARGV[3]) or in_call(P, ARGV[4]) then
  redis.call('HSET', key, 'state', 'ended', 'callerId', ARGV[3], 'calleeId', ARGV[4])
  redis.call('PEXPIRE', key, ARGV[6])
  return 'busy'
end
redis.call('HSET', key, 'callId', id, 'state', 'ringing', 'callerId', ARGV[3], 'calleeId', ARGV[4],
  'chat', ARGV[8], 'media', ARGV[9], 'caller', ARGV[10], 'callerSocket', ARGV[11],
  'callerPid', ARGV[7], 'deadline', string.format('%.0f', now_ms() + tonumber(ARGV[5])))
redis.call('SET', P .. 'user:' .. ARGV[3] .. ':call', id)
redis.call('SET', P .. 'user:' .. ARGV[4] .. ':call', id)
redis.call('SADD', P .. 'calls:live', id)
return 'created'
`;

/** ARGV: P, id, socket, pid. { 'ok', held, hash } or { state that refused it }. */
const ANSWER = `${LUA_NOW}
local key = ARGV[1] .. 'call:' .. ARGV[2]
local state = redis.call('HGET', key, 'state')
if not state then return { 'missing' } end
if state ~= 'ringing' then return { state } end
redis.call('HSET', key, 'state', 'connected', 'calleeSocket', ARGV[3], 'calleePid', ARGV[4],
  'answeredAt', string.format('%.0f', now_ms()))
local held = redis.call('LRANGE', key .. ':held', 0, -1)
redis.call('DEL', key .. ':held')
return { 'ok', held, redis.call('HGETALL', key) }
`;

/** ARGV: P, id, socket, candidate JSON, most held. */
const RELAY = `
local key = ARGV[1] .. 'call:' .. ARGV[2]
local h = redis.call('HMGET', key, 'state', 'callerSocket', 'calleeSocket')
if not h[1] then return { 'missing' } end
if h[1] == 'ended' then return { 'ended' } end
if ARGV[3] == h[2] then
  if h[1] == 'connected' then return { 'to', h[3] } end
  if redis.call('LLEN', key .. ':held') < tonumber(ARGV[5]) then
    redis.call('RPUSH', key .. ':held', ARGV[4])
  end
  return { 'held' }
end
if h[1] == 'connected' and ARGV[3] == h[3] then return { 'to', h[2] } end
return { 'elsewhere' }
`;

/** ARGV: P, id, ringing only ('1'), tombstone ms. The hash, or nil when it was not live. */
const END = `${LUA_NOW}${LUA_END}
local state = redis.call('HGET', ARGV[1] .. 'call:' .. ARGV[2], 'state')
if state ~= 'ringing' and state ~= 'connected' then return false end
if ARGV[3] == '1' and state ~= 'ringing' then return false end
return end_call(ARGV[1], ARGV[2], now_ms(), ARGV[4])
`;

/**
 * ARGV: P, this pid, tombstone ms, slack ms. { reason, hash } for each call it ended: a party's
 * process died (its lease lapsed), or the ring ran out `slack` ago with nobody to time it.
 */
const SWEEP = `${LUA_NOW}${LUA_END}
local P, self = ARGV[1], ARGV[2]
local now = now_ms()
local dead = function(pid)
  return pid and pid ~= self and redis.call('EXISTS', P .. 'lease:' .. pid) == 0
end
local ended = {}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'calls:live')) do
  local h = redis.call('HMGET', P .. 'call:' .. id, 'state', 'deadline', 'callerPid', 'calleePid')
  local reason = nil
  if h[1] ~= 'ringing' and h[1] ~= 'connected' then
    redis.call('SREM', P .. 'calls:live', id)
  elseif dead(h[3]) or (h[1] == 'connected' and dead(h[4])) then
    reason = 'disconnected'
  elseif h[1] == 'ringing' and tonumber(h[2]) + tonumber(ARGV[4]) <= now then
    reason = 'missed'
  end
  if reason then table.insert(ended, { reason, end_call(P, id, now, ARGV[3]) }) end
end
return ended
`;

/** How long past its deadline a ring waits for its own process's timer before a sweep ends it. */
const SWEEP_SLACK_MS = 2000;

export class RedisCalls implements CallStore {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly pid: string,
    /** Whether leases can be trusted now (not just after an outage): see RedisPresence.maySweep. */
    private readonly maySweep: () => boolean,
  ) {}

  async invite(call: CallRecord, ringMs: number): Promise<'created' | 'busy' | 'conflict'> {
    return this.run<'created' | 'busy' | 'conflict'>(INVITE, [
      this.prefix,
      call.callId,
      call.caller.id,
      call.calleeId,
      ringMs,
      CALL_TOMBSTONE_MS,
      this.pid,
      call.chatId,
      call.media,
      JSON.stringify(call.caller),
      call.callerSocket,
    ]);
  }

  async find(callId: string): Promise<FoundCall | undefined> {
    let flat: Record<string, string>;
    try {
      flat = await this.client.hGetAll(this.key(callId));
    } catch (err) {
      throw asAppError(err);
    }
    const state = flat.state;
    if (state === 'ended') {
      return { state, callerId: flat.callerId ?? '', calleeId: flat.calleeId ?? '' };
    }
    if (state !== 'ringing' && state !== 'connected') return undefined;
    return { state, ...toRecord(callId, flat) };
  }

  async answer(
    callId: string,
    socketId: string,
  ): Promise<
    | { call: CallRecord; candidates: IceCandidate[] }
    | { refused: 'connected' | 'ended' | 'missing' }
  > {
    const reply = await this.run<[string, string[]?, string[]?]>(ANSWER, [
      this.prefix,
      callId,
      socketId,
      this.pid,
    ]);
    const [outcome, held = [], flat = []] = reply;
    if (outcome !== 'ok') return { refused: outcome as 'connected' | 'ended' | 'missing' };
    return {
      call: toRecord(callId, pairs(flat)),
      candidates: held.map((c) => JSON.parse(c) as IceCandidate),
    };
  }

  async relay(
    callId: string,
    socketId: string,
    candidate: IceCandidate,
  ): Promise<{ to: string } | 'held' | 'ended' | 'elsewhere' | 'missing'> {
    const [outcome, to] = await this.run<[string, string?]>(RELAY, [
      this.prefix,
      callId,
      socketId,
      JSON.stringify(candidate),
      HELD_CANDIDATES,
    ]);
    if (outcome === 'to' && to) return { to };
    return outcome as 'held' | 'ended' | 'elsewhere' | 'missing';
  }

  async end(callId: string, ringingOnly = false): Promise<EndedCall | undefined> {
    const flat = await this.run<string[] | null>(END, [
      this.prefix,
      callId,
      ringingOnly ? '1' : '0',
      CALL_TOMBSTONE_MS,
    ]);
    return flat ? toEnded(callId, pairs(flat)) : undefined;
  }

  async callOf(userId: string): Promise<string | undefined> {
    try {
      return (await this.client.get(`${this.prefix}user:${userId}:call`)) ?? undefined;
    } catch (err) {
      throw asAppError(err);
    }
  }

  /** Nothing while leases cannot be trusted yet after an outage, nor while Redis is away. */
  async sweep(): Promise<{ call: EndedCall; reason: 'missed' | 'disconnected' }[]> {
    if (!this.maySweep()) return [];
    let ended: [string, string[]][];
    try {
      ended = await runScript<[string, string[]][]>(
        this.client,
        SWEEP,
        [],
        [this.prefix, this.pid, CALL_TOMBSTONE_MS, SWEEP_SLACK_MS],
      );
    } catch (err) {
      if (isOutage(err)) return [];
      throw err;
    }
    return ended.map(([reason, flat]) => {
      const hash = pairs(flat);
      return {
        reason: reason as 'missed' | 'disconnected',
        call: toEnded(hash.callId ?? '', hash),
      };
    });
  }

  private key(callId: string): string {
    return `${this.prefix}call:${callId}`;
  }

  private async run<T>(script: string, args: (string | number)[]): Promise<T> {
    try {
      return await runScript<T>(this.client, script, [], args);
    } catch (err) {
      throw asAppError(err);
    }
  }
}

/** A flat HGETALL reply as an object. */
function pairs(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

function toRecord(callId: string, h: Record<string, string>): CallRecord {
  return {
    callId,
    chatId: h.chat ?? '',
    media: h.media === 'video' ? 'video' : 'audio',
    caller: JSON.parse(h.caller ?? 'null') as UserSummary,
    calleeId: h.calleeId ?? '',
    callerSocket: h.callerSocket ?? '',
    calleeSocket: h.calleeSocket ?? null,
    answeredAt: h.answeredAt ? Number(h.answeredAt) : null,
  };
}

function toEnded(callId: string, h: Record<string, string>): EndedCall {
  return { ...toRecord(callId, h), endedAt: Number(h.endedAt) };
}
