import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import type { RedisPresence } from '../src/scale/presence.js';
import { connectRedis, type RedisScale, type RedisScaleOptions } from '../src/scale/redis.js';
import { freePort } from './helpers/pg-instance.js';

// The Redis implementations of the shared-state ports, against real Redis servers: the machine's
// (127.0.0.1:6379) under a key prefix of this run's own, and for outages one started here on a
// free port. Two connectRedis instances in this process stand for two server processes; a dead
// process is a real child process, killed with SIGKILL.

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));
const REDIS_MODULE = fileURLToPath(new URL('../src/scale/redis.ts', import.meta.url));
const TYPING_MS = 300;
const prefixes: string[] = [];
const opened: RedisScale[] = [];

const timings = {
  typingTimeoutMs: TYPING_MS,
  leaseTtlMs: 1_500,
  renewEveryMs: 300,
  orphanMs: 1_000,
  callTimeoutMs: 1_000,
  adapter: { blockTimeInMs: 500 },
} satisfies RedisScaleOptions;

function newPrefix(): string {
  const prefix = `parley-test:${randomUUID()}:`;
  prefixes.push(prefix);
  return prefix;
}

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger whose lines the test reads. */
function captureLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  return { log, lines };
}

async function open(
  prefix: string,
  extra: Partial<RedisScaleOptions> & { url?: string; log?: Logger } = {},
): Promise<RedisScale> {
  const { url = REDIS_URL, log = pino({ level: 'silent' }), ...options } = extra;
  const scale = await connectRedis(url, log, { ...timings, prefix, ...options });
  opened.push(scale);
  return scale;
}

/** Resolves once `check` holds, polling; fails after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ids = (n: number) => Array.from({ length: n }, () => randomUUID());

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

describe('presence across processes', () => {
  it('announces a user online once, and offline once after their last socket anywhere', async () => {
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const [user, other] = ids(2) as [string, string];

    expect(await a.state.presence.connect(user, 'a-1')).toBe(true);
    expect(await b.state.presence.connect(user, 'b-1')).toBe(false);
    expect(await b.state.presence.onlineAmong([user, other])).toEqual(new Set([user]));

    expect(await a.state.presence.disconnect(user, 'a-1')).toBe(false);
    expect(await b.state.presence.disconnect(user, 'b-1')).toBe(true);
    // Inside the grace the user still shows online, and a reconnect announces nothing.
    expect(await a.state.presence.onlineAmong([user])).toEqual(new Set([user]));
    expect(await a.state.presence.connect(user, 'a-2')).toBe(false);
    expect(await b.state.presence.settleOffline(user)).toBe(false);
    expect(await a.state.presence.disconnect(user, 'a-2')).toBe(true);

    const settled = await Promise.all([
      a.state.presence.settleOffline(user),
      b.state.presence.settleOffline(user),
    ]);
    expect(settled.filter(Boolean)).toHaveLength(1);
    expect(await b.state.presence.onlineAmong([user])).toEqual(new Set());
    expect(await b.state.presence.connect(user, 'b-2')).toBe(true);
    // A socket disconnected twice is no second transition.
    expect(await b.state.presence.disconnect(user, 'b-2')).toBe(true);
    expect(await b.state.presence.disconnect(user, 'b-2')).toBe(false);
  });

  it('caps a user’s socket places across processes', async () => {
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const [user] = ids(1) as [string];

    expect(await a.state.presence.claimPlace(user, 's1', 3)).toBe(true);
    expect(await a.state.presence.claimPlace(user, 's2', 3)).toBe(true);
    expect(await b.state.presence.claimPlace(user, 's3', 3)).toBe(true);
    expect(await b.state.presence.claimPlace(user, 's4', 3)).toBe(false);
    expect(await a.state.presence.claimPlace(user, 's1', 3)).toBe(true); // already its own
    await a.state.presence.releasePlace(user, 's2');
    await a.state.presence.releasePlace(user, 's2'); // twice is harmless
    expect(await b.state.presence.claimPlace(user, 's4', 3)).toBe(true);
    expect(await a.state.presence.claimPlace(user, 's5', 3)).toBe(false);

    // Racing handshakes on both processes never exceed the cap.
    const [racer] = ids(1) as [string];
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).state.presence.claimPlace(racer, `r${i}`, 4),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(4);
  });

  it('sweeps a killed process: its users go offline, once, as last seen alive; its places and typing end', async () => {
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const [gone, stays, chat] = ids(3) as [string, string, string];
    expect(await a.state.presence.connect(stays, 'a-1')).toBe(true);

    const child = await spawnHolder(prefix, gone, stays, chat);
    expect(await a.state.presence.onlineAmong([gone, stays])).toEqual(new Set([gone, stays]));
    expect(await a.state.presence.claimPlace(gone, 'a-9', 1)).toBe(false); // the child's place
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await once(child, 'exit');

    const swept: { userId: string; lastSeenAt: Date }[] = [];
    const stopped: { chatId: string; userId: string }[] = [];
    await until(async () => {
      const [fromA, fromB, typingA, typingB] = await Promise.all([
        a.state.presence.sweep(),
        b.state.presence.sweep(),
        a.state.typing.sweep(),
        b.state.typing.sweep(),
      ]);
      swept.push(...fromA, ...fromB);
      stopped.push(...typingA, ...typingB);
      return swept.length > 0 && stopped.length > 0;
    });
    const sweptAt = Date.now();
    // Later sweeps find nothing more: each of the dead process's users is told of once.
    await sleep(timings.renewEveryMs * 2);
    swept.push(...(await a.state.presence.sweep()), ...(await b.state.presence.sweep()));
    stopped.push(...(await a.state.typing.sweep()), ...(await b.state.typing.sweep()));
    expect(swept.map((s) => s.userId)).toEqual([gone]);
    // Last seen when the process last renewed its lease, not when it was found dead.
    const lastSeen = swept[0]!.lastSeenAt.getTime();
    expect(lastSeen).toBeLessThanOrEqual(killedAt);
    expect(lastSeen).toBeGreaterThan(killedAt - timings.renewEveryMs * 3);
    expect(sweptAt - lastSeen).toBeGreaterThanOrEqual(timings.leaseTtlMs);
    // The indicator the child held ends, announced by one sweeper; a new one is news again.
    expect(stopped).toEqual([{ chatId: chat, userId: gone }]);
    expect(await a.state.typing.start(chat, gone, 'a-9', () => {})).toBe(true);
    expect(await b.state.presence.onlineAmong([gone, stays])).toEqual(new Set([stays]));
    expect(await a.state.presence.claimPlace(gone, 'a-9', 1)).toBe(true);
    // The user with a socket elsewhere stays online until that one goes.
    expect(await a.state.presence.disconnect(stays, 'a-1')).toBe(true);
  });

  it("gives a killed process's places up once its lease lapsed, before any sweep", async () => {
    const prefix = newPrefix();
    const a = await open(prefix);
    const [gone, stays, chat] = ids(3) as [string, string, string];
    const child = await spawnHolder(prefix, gone, stays, chat);
    expect(await a.state.presence.claimPlace(gone, 'a-9', 1)).toBe(false); // the child's place
    child.kill('SIGKILL');
    await once(child, 'exit');
    // Still its place while its lease lasts: a process that misses a renewal is not dead.
    expect(await a.state.presence.claimPlace(gone, 'a-9', 1)).toBe(false);
    await sleep(timings.leaseTtlMs + 200);
    expect(await a.state.presence.claimPlace(gone, 'a-9', 1)).toBe(true);
  });

  it('settles a user whose process died inside their grace, by a sweep', async () => {
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const [user] = ids(1) as [string];
    expect(await a.state.presence.connect(user, 'a-1')).toBe(true);
    expect(await a.state.presence.disconnect(user, 'a-1')).toBe(true);
    const goneAt = Date.now();
    await a.close(); // nobody ever calls settleOffline
    let swept: { userId: string; lastSeenAt: Date }[] = [];
    await until(async () => (swept = await b.state.presence.sweep()).length > 0);
    expect(swept.map((s) => s.userId)).toEqual([user]);
    // Last seen when their last socket went.
    expect(swept[0]!.lastSeenAt.getTime()).toBeLessThanOrEqual(goneAt);
    expect(await b.state.presence.onlineAmong([user])).toEqual(new Set());
  });

  it('a socket that came back on another process is not removed by the old one', async () => {
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const [user] = ids(1) as [string];
    expect(await a.state.presence.claimPlace(user, 's1', 1)).toBe(true);
    expect(await a.state.presence.connect(user, 's1')).toBe(true);
    // Connection state recovery: the same socket id, now on B, before A noticed it left.
    expect(await b.state.presence.claimPlace(user, 's1', 1)).toBe(true);
    expect(await b.state.presence.connect(user, 's1')).toBe(false);
    // A resyncs with s1 still among its sockets, then hears of the disconnect, late.
    (a.state.presence as RedisPresence).reconnected();
    await sleep(timings.renewEveryMs * 2);
    expect(await a.state.presence.disconnect(user, 's1')).toBe(false);
    await a.state.presence.releasePlace(user, 's1');
    (a.state.presence as RedisPresence).reconnected();
    await sleep(timings.renewEveryMs * 2);
    // The user is still online, s1's place is still taken, and B's disconnect is the last one.
    expect(await a.state.presence.onlineAmong([user])).toEqual(new Set([user]));
    expect(await a.state.presence.claimPlace(user, 's2', 1)).toBe(false);
    expect(await b.state.presence.disconnect(user, 's1')).toBe(true);
  });

  it('a clean close deregisters the process without announcing anything', async () => {
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const [user, chat] = ids(2) as [string, string];
    expect(await a.state.presence.claimPlace(user, 'a-1', 1)).toBe(true);
    expect(await a.state.presence.connect(user, 'a-1')).toBe(true);
    expect(await a.state.typing.start(chat, user, 'a-1', () => {})).toBe(true);
    await a.close();
    // Its place is free at once; the user, left without sockets, is settled by a sweep later.
    expect(await b.state.presence.claimPlace(user, 'b-1', 1)).toBe(true);
    expect(await b.state.presence.connect(user, 'b-1')).toBe(false);
    expect(await b.state.presence.disconnect(user, 'b-1')).toBe(true);
    expect(await b.state.presence.settleOffline(user)).toBe(true);
    // Its typing indicator is ended by a sweep, for the others to hear typing:stop, once.
    let stopped: { chatId: string; userId: string }[] = [];
    await until(async () => (stopped = await b.state.typing.sweep()).length > 0);
    expect(stopped).toEqual([{ chatId: chat, userId: user }]);
    expect(await b.state.typing.sweep()).toEqual([]);
  });
});

/**
 * A child process that registers `gone`'s and `stays`'s sockets and `gone`'s typing in `chat`
 * (with a typing timeout long enough to outlive the sweep), then waits to be killed.
 */
async function spawnHolder(
  prefix: string,
  gone: string,
  stays: string,
  chat: string,
): Promise<ChildProcess> {
  const code = `
    import { pino } from 'pino';
    import { connectRedis } from ${JSON.stringify(REDIS_MODULE)};
    const scale = await connectRedis(${JSON.stringify(REDIS_URL)}, pino({ level: 'silent' }),
      ${JSON.stringify({ ...timings, prefix, typingTimeoutMs: 10_000 })});
    const p = scale.state.presence;
    await p.claimPlace(${JSON.stringify(gone)}, 'child-1', 1);
    await p.connect(${JSON.stringify(gone)}, 'child-1');
    await p.connect(${JSON.stringify(stays)}, 'child-2');
    await scale.state.typing.start(${JSON.stringify(chat)}, ${JSON.stringify(gone)}, 'child-1', () => {});
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: SERVER_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', () => reject(new Error(`holder exited: ${output}`)));
  });
  return child;
}

describe('typing across processes', () => {
  it('expires once, in the process that renewed last', async () => {
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const [chat, user] = ids(2) as [string, string];
    let expiredOnA = 0;
    let expiredOnB = 0;

    expect(await a.state.typing.start(chat, user, 'sa', () => expiredOnA++)).toBe(true);
    expect(await b.state.typing.start(chat, user, 'sb', () => expiredOnB++)).toBe(false);
    expect(await b.state.typing.renew(chat, user, 'sb', () => expiredOnB++)).toBe(true);
    await until(() => expiredOnB > 0);
    await sleep(TYPING_MS * 2);
    expect([expiredOnA, expiredOnB]).toEqual([0, 1]);
    expect(await a.state.typing.renew(chat, user, 'sa', () => expiredOnA++)).toBe(false);
    expect(await a.state.typing.stop(chat, user)).toBe(false);
  });

  it('a stop on another process ends it with no expiry', async () => {
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const [chat, user] = ids(2) as [string, string];
    let expired = 0;
    expect(await a.state.typing.start(chat, user, 'sa', () => expired++)).toBe(true);
    expect(await b.state.typing.stop(chat, user)).toBe(true);
    expect(await b.state.typing.stop(chat, user)).toBe(false);
    await sleep(TYPING_MS * 2);
    expect(expired).toBe(0);
    expect(await b.state.typing.start(chat, user, 'sb', () => {})).toBe(true);
  });

  it('a socket that goes ends only the indicators it still holds', async () => {
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const [chat1, chat2, user] = ids(3) as [string, string, string];
    let expired = 0;
    await a.state.typing.start(chat1, user, 'sa', () => expired++);
    await a.state.typing.start(chat2, user, 'sa', () => expired++);
    await b.state.typing.renew(chat2, user, 'sb', () => expired++); // now sb's, on b

    expect(await a.state.typing.dropSocket('sa')).toEqual([{ chatId: chat1, userId: user }]);
    expect(await a.state.typing.dropSocket('sa')).toEqual([]);
    expect(await b.state.typing.stop(chat2, user)).toBe(true);
    await sleep(TYPING_MS * 2);
    expect(expired).toBe(0);
  });
});

describe('rate limits across processes', () => {
  it('counts one allowance for every process, per name', async () => {
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const onA = a.state.limiter('sends', 3, 60);
    const onB = b.state.limiter('sends', 3, 60);
    await onA.consume('u1');
    await onB.refund('u1'); // a failure limiter gives back what succeeded
    await onA.consume('u1');
    await onA.consume('u1');
    await onB.consume('u1');
    await expect(onB.consume('u1')).rejects.toMatchObject({ code: 'rate_limited' });
    const refused = await onA.consume('u1').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).retryAfterSeconds).toBeGreaterThan(0);
    await onB.consume('u2'); // another key
    await b.state.limiter('logins', 3, 60).consume('u1'); // another name
    const off = a.state.limiter('off', 0, 60);
    for (let i = 0; i < 5; i++) await off.consume('u1');
  });
});

describe('cross-process delivery', () => {
  it('a room emit on one process reaches a socket on the other', async () => {
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    const [ioA] = await serve(a);
    const [ioB, urlB] = await serve(b);
    const client = await joinRoom(urlB);
    try {
      expect(await deliver(ioA, client, 'hello', 42)).toBe(42);
    } finally {
      client.close();
      await Promise.all([ioA.close(), ioB.close()]);
    }
  });
});

/** A Socket.IO server on the instance's adapter, whose sockets all join `room`. */
async function serve(scale: RedisScale): Promise<[Server, string]> {
  const http: HttpServer = createServer();
  const io = new Server(http, { adapter: scale.adapter, connectionStateRecovery: {} });
  io.on('connection', (socket) => void socket.join('room'));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return [io, `http://127.0.0.1:${(http.address() as AddressInfo).port}`];
}

async function joinRoom(url: string): Promise<ClientSocket> {
  const client = connectClient(url, { transports: ['websocket'] });
  await new Promise((resolve) => client.once('connect', () => resolve(undefined)));
  return client;
}

/**
 * Emits to `room` until the client hears it (a new adapter's stream reader may start after the
 * first emit); fails after `ms`.
 */
async function deliver(io: Server, client: ClientSocket, event: string, value: number, ms = 5_000) {
  const heard = new Promise<unknown>((resolve, reject) => {
    client.once(event, resolve);
    setTimeout(() => reject(new Error(`${event} not delivered`)), ms).unref();
  });
  const emit = () => void io.to('room').emit(event, value);
  emit();
  const timer = setInterval(emit, 100);
  try {
    return await heard;
  } finally {
    clearInterval(timer);
  }
}

describe('a Redis outage', () => {
  it('start fails with a clear message when Redis does not answer', async () => {
    const port = await freePort();
    await expect(
      connectRedis(`redis://:secret@127.0.0.1:${port}`, pino({ level: 'silent' }), {
        ...timings,
        startTimeoutMs: 500,
      }),
    ).rejects.toThrow(
      new RegExp(`^Redis at 127\\.0\\.0\\.1:${port} did not answer within 0\\.5 s`),
    );
  });

  it('rejects, answers alone or lets through as documented, never crashes, and recovers by itself', async () => {
    const redis = await startRedis();
    try {
      const prefix = newPrefix();
      const logA = captureLog();
      const restored: string[] = [];
      let deliveryRestored = 0;
      const a = await open(prefix, {
        url: redis.url,
        log: logA.log,
        // Long enough that its timer fires only once Redis is gone.
        typingTimeoutMs: 1_500,
        onPresenceRestored: (users) => restored.push(...users),
        onDeliveryRestored: () => deliveryRestored++,
      });
      const b = await open(prefix, { url: redis.url });
      const [ioA, urlA] = await serve(a);
      const [ioB, urlB] = await serve(b);
      const [onA, onB] = [await joinRoom(urlA), await joinRoom(urlB)];
      const [user, late, leaver, stranger, chat] = ids(5) as [
        string,
        string,
        string,
        string,
        string,
      ];
      expect(await a.state.presence.claimPlace(user, 'a-1', 2)).toBe(true);
      expect(await a.state.presence.connect(user, 'a-1')).toBe(true);
      expect(await a.state.presence.connect(leaver, 'a-4')).toBe(true);
      let expired = 0;
      expect(await a.state.typing.start(chat, leaver, 'a-4', () => expired++)).toBe(true);

      await redis.stop();
      await until(() => a.state.redisStatus() === 'down' && b.state.redisStatus() === 'down');

      // Writes are `unavailable`; presence reads answer from this process's own sockets; places
      // and limits let people through.
      const p = a.state.presence;
      await expect(p.connect(late, 'a-2')).rejects.toMatchObject({ code: 'unavailable' });
      expect(await p.onlineAmong([user, late, stranger])).toEqual(new Set([user, late]));
      expect(await p.onlineAmong([stranger])).toEqual(new Set());
      await expect(p.settleOffline(user)).rejects.toMatchObject({ code: 'unavailable' });
      // The leaver's last socket goes while Redis cannot hear of it.
      await expect(p.disconnect(leaver, 'a-4')).rejects.toMatchObject({ code: 'unavailable' });
      expect(await p.claimPlace(user, 'a-3', 2)).toBe(true);
      await p.releasePlace(user, 'a-9'); // nothing to tell, and no failure either
      await expect(a.state.typing.start(chat, user, 'a-1', () => {})).rejects.toMatchObject({
        code: 'unavailable',
      });
      expect(await p.sweep()).toEqual([]);
      expect(await a.state.typing.sweep()).toEqual([]);
      const limiter = a.state.limiter('outage', 2, 60);
      await limiter.consume('k');
      await limiter.consume('k');
      // Counted in this process meanwhile: still a limit.
      await expect(limiter.consume('k')).rejects.toMatchObject({ code: 'rate_limited' });
      // Sockets of the same process still hear each other at once.
      expect(await deliver(ioA, onA, 'during', 1, 3_000)).toBe(1);
      // What the adapter sends without awaiting (an ephemeral emit; the session of a socket whose
      // connection dropped) fails quietly, and the socket reconnects.
      ioA.serverSideEmit('ping');
      const back = new Promise((resolve) => onA.once('connect', () => resolve(undefined)));
      onA.io.engine.close();
      await back;
      await sleep(500); // several reconnection attempts
      const said = (msg: string) => logA.lines.filter((l) => l.msg === msg);
      expect(said('redis: down')).toHaveLength(1);
      expect(said('redis: presence answered from this process’s own sockets')).toHaveLength(1);
      // Nothing logged as an error, per call or otherwise.
      expect(logA.lines.filter((l) => l.level >= 50)).toEqual([]);
      expect(JSON.stringify(logA.lines)).not.toContain('secret');
      expect(deliveryRestored).toBe(0);

      // The restarted Redis is empty (no persistence): process A puts its users back.
      await redis.start();
      await until(() => a.state.redisStatus() === 'up' && b.state.redisStatus() === 'up');
      await until(() => restored.length === 2);
      expect(new Set(restored)).toEqual(new Set([user, late]));
      expect(said('redis: back')).toHaveLength(1);
      expect(deliveryRestored).toBe(1);
      expect(await b.state.presence.onlineAmong([user, late])).toEqual(new Set([user, late]));
      // Both places, the one let through included, count again.
      expect(await b.state.presence.claimPlace(user, 'b-1', 2)).toBe(false);
      expect(await b.state.typing.start(chat, user, 'b-1', () => {})).toBe(true);
      // The indicator Redis lost ends at its time, announced by the process that held it.
      await until(() => expired === 1);
      // Delivery across processes resumes by itself.
      expect(await deliver(ioA, onB, 'after', 2)).toBe(2);
      // The leaver, whose disconnect Redis never heard of, is settled offline by a sweep, once.
      const swept: string[] = [];
      await until(async () => {
        const found = [...(await a.state.presence.sweep()), ...(await b.state.presence.sweep())];
        swept.push(...found.map((s) => s.userId));
        return swept.length > 0;
      });
      expect(swept).toEqual([leaver]);
      expect(await b.state.presence.onlineAmong([leaver])).toEqual(new Set());
      expect(expired).toBe(1);
      onA.close();
      onB.close();
      await Promise.all([ioA.close(), ioB.close()]);
    } finally {
      await redis.stop();
    }
  });

  it('a Redis that stops answering holds no handshake, no limit and no local delivery', async () => {
    const redis = await startRedis();
    try {
      let deliveryRestored = 0;
      const a = await open(newPrefix(), {
        url: redis.url,
        onDeliveryRestored: () => deliveryRestored++,
      });
      const [io, url] = await serve(a);
      const client = await joinRoom(url);
      const [user, leaver] = ids(2) as [string, string];
      expect(await a.state.presence.connect(leaver, 'l-1')).toBe(true);
      const limiter = a.state.limiter('frozen', 1, 60);
      redis.process?.kill('SIGSTOP');
      try {
        // A broadcast reaches the process's own sockets although its publish is never answered,
        // and those after it too, in order.
        const heard: number[] = [];
        client.on('frozen', (n: number) => heard.push(n));
        for (let n = 1; n <= 5; n++) io.to('room').emit('frozen', n);
        await until(() => heard.length === 5, 3_000);
        expect(heard).toEqual([1, 2, 3, 4, 5]);
        expect(a.state.redisStatus()).toBe('down');

        const limited = (async () => {
          await limiter.consume('k');
          await limiter.consume('k');
        })();
        limited.catch(() => {}); // awaited below
        const [placed, connected, disconnected, online] = await Promise.allSettled([
          a.state.presence.claimPlace(user, 's1', 1),
          a.state.presence.connect(user, 's1'),
          a.state.presence.disconnect(leaver, 'l-1'),
          a.state.presence.onlineAmong([user, leaver]),
        ]);
        expect(placed).toEqual({ status: 'fulfilled', value: true });
        expect(connected).toMatchObject({ status: 'rejected', reason: { code: 'unavailable' } });
        expect(disconnected).toMatchObject({ status: 'rejected', reason: { code: 'unavailable' } });
        expect(online).toEqual({ status: 'fulfilled', value: new Set([user]) });
        await expect(limited).rejects.toMatchObject({ code: 'rate_limited' });
      } finally {
        redis.process?.kill('SIGCONT');
      }
      await until(() => a.state.redisStatus() === 'up');
      expect(deliveryRestored).toBe(1);
      // The late calls land once it answers again; the place is the socket's.
      expect(await a.state.presence.claimPlace(user, 's1', 1)).toBe(true);
      expect(await a.state.presence.claimPlace(user, 's2', 1)).toBe(false);
      // The disconnect that failed is settled by a sweep once Redis answers again.
      await until(async () => (await a.state.presence.sweep()).some((s) => s.userId === leaver));
      expect(await a.state.presence.onlineAmong([leaver])).toEqual(new Set());
      client.close();
      await io.close();
    } finally {
      await redis.stop();
    }
  });
});

interface OwnRedis {
  readonly url: string;
  readonly process: ChildProcess | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A Redis server of the test's own, without persistence, to stop and restart on its port. */
async function startRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const redis: OwnRedis = {
    url: `redis://:secret@127.0.0.1:${port}`,
    get process() {
      return child;
    },
    async start() {
      child = spawn(
        'redis-server',
        [
          ...['--port', String(port), '--bind', '127.0.0.1', '--requirepass', 'secret'],
          ...['--save', '', '--appendonly', 'no'],
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        let output = '';
        child?.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Ready to accept connections')) resolve();
        });
        child?.once('exit', () => reject(new Error(`redis-server exited: ${output}`)));
      });
    },
    async stop() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      running.kill('SIGKILL');
      await once(running, 'exit');
    },
  };
  await redis.start();
  return redis;
}
