// The call store across processes, against a real Redis (the machine's 127.0.0.1:6379, under a
// key prefix of this run's own): two connectRedis instances stand for two server processes. The
// socket flows are in calls.test.ts; here, what only a process that dies or races can show.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { createClient } from 'redis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connectRedis, type RedisScale } from '../src/scale/redis.js';
import { InProcessCalls } from '../src/services/in-process-calls.js';
import type { CallRecord, CallStore } from '../src/services/ports.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefixes: string[] = [];
const opened: RedisScale[] = [];

async function open(prefix: string): Promise<RedisScale> {
  const scale = await connectRedis(REDIS_URL, pino({ level: 'silent' }), {
    typingTimeoutMs: 300,
    prefix,
    leaseTtlMs: 1_000,
    renewEveryMs: 200,
    orphanMs: 1_000,
  });
  opened.push(scale);
  return scale;
}

function newPrefix(): string {
  const prefix = `parley-test:${randomUUID()}:`;
  prefixes.push(prefix);
  return prefix;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `sweep` until it ends something (or fails after `ms`). */
async function sweptBy(store: CallStore, ms = 8_000) {
  const end = Date.now() + ms;
  for (;;) {
    const swept = await store.sweep();
    if (swept.length > 0) return swept;
    if (Date.now() > end) throw new Error('nothing swept in time');
    await sleep(100);
  }
}

function newCall(socket = 'socket-a'): CallRecord {
  return {
    callId: randomUUID(),
    chatId: randomUUID(),
    media: 'video',
    caller: { id: randomUUID(), username: 'alice', display_name: 'Alice', avatar_url: null },
    calleeId: randomUUID(),
    callerSocket: socket,
    calleeSocket: null,
    answeredAt: null,
  };
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((scale) => scale.close()));
});

afterAll(async () => {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  for (const prefix of prefixes) {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.del(keys);
    }
  }
  await client.close();
});

describe.each([
  ['in one process', () => Promise.resolve([new InProcessCalls(), new InProcessCalls()] as const)],
  [
    'in Redis',
    async () => {
      const prefix = newPrefix();
      const [a, b] = await Promise.all([open(prefix), open(prefix)]);
      return [a.state.calls, b.state.calls] as const;
    },
  ],
])('the call store %s', (where, stores) => {
  // In one process both "processes" are one store: the same calls, seen from the same place.
  const shared = async () => {
    const [a, b] = await stores();
    return where === 'in Redis' ? ([a, b] as const) : ([a, a] as const);
  };

  it('answers a call once, and ends it once, whichever process asks', async () => {
    const [a, b] = await shared();
    const call = newCall();
    expect(await a.invite(call, 30_000)).toBe('created');
    expect(await b.invite(call, 30_000)).toBe('conflict');
    expect(await b.relay(call.callId, call.callerSocket, { candidate: 'c1' })).toBe('held');

    const answers = await Promise.all([
      a.answer(call.callId, 'socket-b1'),
      b.answer(call.callId, 'socket-b2'),
    ]);
    const won = answers.filter((r) => 'call' in r);
    expect(won).toHaveLength(1);
    expect(answers.filter((r) => 'refused' in r && r.refused === 'connected')).toHaveLength(1);
    const winner = won[0]!;
    expect('candidates' in winner && winner.candidates).toEqual([{ candidate: 'c1' }]);
    const answerer = 'call' in winner ? winner.call.calleeSocket : null;
    expect(await a.relay(call.callId, call.callerSocket, { candidate: 'c2' })).toEqual({
      to: answerer,
    });
    expect(await b.relay(call.callId, answerer ?? '', { candidate: 'c3' })).toEqual({
      to: call.callerSocket,
    });
    expect(await b.relay(call.callId, 'socket-other', { candidate: 'c4' })).toBe('elsewhere');
    // The ring timeout is too late for an answered call.
    expect(await b.end(call.callId, true)).toBeUndefined();

    const ends = await Promise.all([a.end(call.callId), b.end(call.callId), a.end(call.callId)]);
    const ended = ends.filter((e) => e !== undefined);
    expect(ended).toHaveLength(1);
    expect(ended[0]!.answeredAt).not.toBeNull();
    expect(ended[0]!.endedAt).toBeGreaterThanOrEqual(ended[0]!.answeredAt!);
    expect(await b.find(call.callId)).toEqual({
      state: 'ended',
      callerId: call.caller.id,
      calleeId: call.calleeId,
    });
    expect(await a.callOf(call.caller.id)).toBeUndefined();
    expect(await a.invite(call, 30_000)).toBe('conflict');
  });

  it('is busy while either party is in a call, and free once it ends', async () => {
    const [a, b] = await shared();
    const first = newCall();
    expect(await a.invite(first, 30_000)).toBe('created');
    const toCallee = { ...newCall(), calleeId: first.calleeId };
    const fromCaller = { ...newCall(), caller: first.caller };
    expect(await b.invite(toCallee, 30_000)).toBe('busy');
    expect(await b.invite(fromCaller, 30_000)).toBe('busy');
    expect(await b.invite(toCallee, 30_000)).toBe('conflict');
    expect(await b.callOf(first.calleeId)).toBe(first.callId);
    await b.end(first.callId);
    expect(await a.invite({ ...toCallee, callId: randomUUID() }, 30_000)).toBe('created');
  });
});

describe('the call store in Redis, when a process dies or no timer fires', () => {
  it('ends the calls of a process that went, once, for another process to tell', async () => {
    const prefix = newPrefix();
    const [a, b, c] = await Promise.all([open(prefix), open(prefix), open(prefix)]);
    const call = newCall();
    expect(await a.state.calls.invite(call, 60_000)).toBe('created');
    expect('call' in (await b.state.calls.answer(call.callId, 'socket-b'))).toBe(true);
    // A's process stops: its lease goes, and with it the caller's socket.
    await a.close();
    const swept = await Promise.race([sweptBy(b.state.calls), sweptBy(c.state.calls)]);
    expect(swept).toHaveLength(1);
    expect(swept[0]).toMatchObject({ reason: 'disconnected', call: { callId: call.callId } });
    expect(swept[0]!.call.answeredAt).not.toBeNull();
    expect(await b.state.calls.sweep()).toEqual([]);
    expect(await c.state.calls.sweep()).toEqual([]);
  });

  it('ends a ring that ran out with nobody to time it as missed', async () => {
    const prefix = newPrefix();
    const [a, b] = await Promise.all([open(prefix), open(prefix)]);
    const call = newCall();
    expect(await a.state.calls.invite(call, 100)).toBe('created');
    const [swept] = await sweptBy(b.state.calls);
    expect(swept).toMatchObject({ reason: 'missed', call: { callId: call.callId } });
    expect(swept!.call.caller).toEqual(call.caller);
    expect(await a.state.calls.end(call.callId, true)).toBeUndefined();
  });
});
