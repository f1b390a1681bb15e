import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Ack, Chat, Message } from '@parley/protocol';
import {
  closeSockets,
  connect,
  createDirect,
  registerUser,
  type ClientSocket,
  type TestUser,
} from './helpers/client.js';
import { createPgInstance, postgresInstalled, type PgInstance } from './helpers/pg-instance.js';
import {
  fetchHistory,
  killChildren,
  removeTempDirs,
  sleep,
  startChild,
  tempDir,
  type ChildServer,
} from './helpers/process.js';
import { freshDatabase } from './helpers/server.js';
import { startProxy, type TcpProxy } from './helpers/tcp-proxy.js';

/**
 * PostgreSQL going away under a running server (issue 7): its backends terminated, the network
 * path black-holed, the database stopped and started. The server runs in its own process, so
 * that "the process survived" is something the test can see. Through all of it every request is
 * answered (a message, or `unavailable`), the process stays up, health says what is true, and
 * every acked message is stored exactly once.
 */

/** Longest any request may take while the database does not answer (README: timeouts). */
const ANSWER_WITHIN_MS = 10_000;
/** Health has its own ~2 s budget. */
const HEALTH_WITHIN_MS = 3000;
/** A request the test gives up on: the server left it hanging. */
const HUNG_MS = 15_000;

/** 'ok', an error code, 'hung' (no answer in time) or 'closed' (the connection went). */
type Answer = string;

interface Send {
  clientMessageId: string;
  content: string;
  user: TestUser;
  answer: Answer;
  message?: Message;
  /** When it was answered, on the test's clock. */
  at: number;
  ms: number;
}

interface Probe {
  at: number;
  status: number | 'hung' | 'closed';
  ms: number;
}

/** Senders retry at once after `unavailable`: far more events than a socket's rate limit allows. */
const env = { RATE_LIMIT_EVENTS: '0', RATE_LIMIT_CHATS: '0' };

// This suite runs in the PostgreSQL pass (see vitest.config.ts). In CI a missing server binary
// is a broken machine, not a reason to test less.
if (process.env.CI && !postgresInstalled()) {
  throw new Error('the PostgreSQL server binaries (initdb, pg_ctl) are missing');
}
const cases = [
  ...(process.env.DATABASE_URL ? ['terminate', 'black-hole'] : []),
  // Its own PostgreSQL, so it needs only the server binaries, not DATABASE_URL.
  ...(postgresInstalled() ? ['restart'] : []),
];

afterEach(async () => {
  closeSockets();
  await killChildren();
});
afterAll(removeTempDirs);

/** A message:send on a socket, answered or not within HUNG_MS. */
function socketSend(
  socket: ClientSocket,
  payload: { chatId: string; content: string; clientMessageId: string },
): Promise<{ answer: Answer; message?: Message }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done({ answer: 'hung' }), HUNG_MS);
    const onClose = () => done({ answer: 'closed' });
    const done = (result: { answer: Answer; message?: Message }) => {
      clearTimeout(timer);
      socket.off('disconnect', onClose);
      resolve(result);
    };
    if (!socket.connected) return done({ answer: 'closed' });
    socket.once('disconnect', onClose);
    (socket.emit as (e: string, p: unknown, cb: (r: Ack<{ message: Message }>) => void) => void)(
      'message:send',
      payload,
      (ack) => done(ack.ok ? { answer: 'ok', message: ack.message } : { answer: ack.error.code }),
    );
  });
}

/** An HTTP call, answered or not within HUNG_MS: its status and error code. */
async function call(
  url: string,
  init: RequestInit & { token?: string } = {},
): Promise<{ status: number | 'hung' | 'closed'; code?: string; body?: unknown }> {
  try {
    const res = await fetch(url, {
      ...init,
      headers: {
        'content-type': 'application/json',
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      },
      signal: AbortSignal.timeout(HUNG_MS),
    });
    const body = (await res.json()) as { error?: { code: string } };
    return { status: res.status, code: body.error?.code, body };
  } catch (err) {
    return { status: (err as Error).name === 'TimeoutError' ? 'hung' : 'closed' };
  }
}

async function restSend(
  base: string,
  user: TestUser,
  payload: { chatId: string; content: string; clientMessageId: string },
): Promise<{ answer: Answer; message?: Message }> {
  const res = await call(`${base}/api/chats/${payload.chatId}/messages`, {
    method: 'POST',
    token: user.token,
    body: JSON.stringify(payload),
  });
  if (res.status === 200 || res.status === 201)
    return { answer: 'ok', message: res.body as Message };
  return { answer: typeof res.status === 'number' ? (res.code ?? String(res.status)) : res.status };
}

const t0 = performance.now();
const now = () => performance.now() - t0;

/**
 * Senders over sockets and REST, each sending one message after another until `stop()`; a
 * failed send is followed by a short pause, as a client's retry would be.
 */
function load(
  base: string,
  chat: Chat,
  senders: { name: string; user: TestUser; socket?: ClientSocket }[],
) {
  const sends: Send[] = [];
  let stopped = false;
  const running = senders.map(async ({ name, user, socket }) => {
    for (let i = 1; !stopped; i++) {
      const payload = {
        chatId: chat.id,
        content: `${name} message ${i}`,
        clientMessageId: `${name}-${i}`,
      };
      const started = now();
      const result = socket
        ? await socketSend(socket, payload)
        : await restSend(base, user, payload);
      sends.push({ ...payload, user, ...result, at: now(), ms: now() - started });
      if (result.answer !== 'ok') await sleep(20);
    }
  });
  return {
    sends,
    stop: async () => {
      stopped = true;
      await Promise.all(running);
    },
  };
}

/** Health asked every 50 ms until stopped. */
function pollHealth(base: string) {
  const probes: Probe[] = [];
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      const started = now();
      const res = await call(`${base}/api/health`);
      probes.push({ at: now(), status: res.status, ms: now() - started });
      await sleep(50);
    }
  })();
  return {
    probes,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

/**
 * Every send was answered, by a message or by `unavailable`. Then every acked message is in
 * the history exactly once, and a client resending what was refused (same clientMessageId, as an
 * outbox does) ends with each message stored exactly once.
 */
async function expectNothingLostOrDoubled(base: string, chat: Chat, sends: Send[]) {
  const odd = sends.filter((s) => s.answer !== 'ok' && s.answer !== 'unavailable');
  expect(odd.map((s) => `${s.clientMessageId}: ${s.answer}`)).toEqual([]);

  const reader = sends[0]!.user;
  const history = await fetchHistory(reader, chat.id);
  const byId = new Map(history.map((m) => [m.id, m]));
  for (const send of sends.filter((s) => s.answer === 'ok')) {
    expect(byId.get(send.message!.id)?.content).toBe(send.content);
  }
  for (const send of sends.filter((s) => s.answer === 'unavailable')) {
    const again = await restSend(base, send.user, {
      chatId: chat.id,
      content: send.content,
      clientMessageId: send.clientMessageId,
    });
    expect(again.answer).toBe('ok');
  }
  const after = await fetchHistory(reader, chat.id);
  const keys = after.map((m) => m.client_message_id);
  expect(new Set(keys).size).toBe(keys.length);
  expect(keys.sort()).toEqual(sends.map((s) => s.clientMessageId).sort());
  expect(after.map((m) => m.seq)).toEqual(after.map((_, i) => i + 1));
}

const alive = (child: ChildServer) =>
  child.process.exitCode === null && child.process.signalCode === null;

/** Two users in a direct chat on the server, each with a socket. */
async function setUp(url: string) {
  const alice = await registerUser(url);
  const bob = await registerUser(url);
  const chat = await createDirect(alice, bob);
  const [aliceSocket, bobSocket] = await Promise.all([
    connect(url, alice.token),
    connect(url, bob.token),
  ]);
  return { alice, bob, chat, aliceSocket, bobSocket };
}

const round = (ms: number) => Math.round(ms);

describe.each(cases)('PostgreSQL fault: %s', (fault) => {
  let drop = () => Promise.resolve();
  let proxy: TcpProxy | undefined;
  let instance: PgInstance | undefined;

  afterAll(async () => {
    await killChildren();
    await proxy?.close();
    await instance?.destroy();
    await drop();
  });

  if (fault === 'terminate') {
    it('survives pg_terminate_backend of its backends under load: all answered, nothing lost', async () => {
      const db = await freshDatabase();
      drop = db.drop;
      const server = await startChild({ dataDir: tempDir(), databaseUrl: db.databaseUrl, env });
      const { alice, bob, chat, aliceSocket, bobSocket } = await setUp(server.url);
      const health = pollHealth(server.url);
      const traffic = load(server.url, chat, [
        { name: 'alice-socket', user: alice, socket: aliceSocket },
        { name: 'bob-socket', user: bob, socket: bobSocket },
        { name: 'alice-rest-1', user: alice },
        { name: 'alice-rest-2', user: alice },
        { name: 'bob-rest-1', user: bob },
        { name: 'bob-rest-2', user: bob },
      ]);

      const admin = new pg.Client({ connectionString: db.databaseUrl });
      await admin.connect();
      const terminations: number[] = [];
      const terminated: number[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          await sleep(700);
          const { rowCount } = await admin.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity ' +
              'WHERE datname = current_database() AND pid <> pg_backend_pid()',
          );
          terminations.push(now());
          terminated.push(rowCount ?? 0);
        }
        await sleep(1000);
      } finally {
        await admin.end();
        await traffic.stop();
        await health.stop();
      }

      const { sends } = traffic;
      expect(terminated[0]).toBeGreaterThan(0);
      if (!alive(server)) console.info(`terminate: the server died\n${server.stderr()}`);
      expect(alive(server)).toBe(true);
      const refused = sends.filter((s) => s.answer === 'unavailable');
      const lastTerminate = terminations.at(-1)!;
      const firstOkAfter = sends.find((s) => s.answer === 'ok' && s.at > lastTerminate);
      console.info(
        `terminate: ${sends.length} sends, ${refused.length} unavailable ` +
          `(slowest answer ${round(Math.max(...sends.map((s) => s.ms)))} ms); ` +
          `health ${[...new Set(health.probes.map((p) => p.status))].join('/')}; ` +
          `first ack after the last terminate: ${firstOkAfter ? round(firstOkAfter.at - lastTerminate) : '-'} ms`,
      );
      expect(Math.max(...sends.map((s) => s.ms))).toBeLessThan(2000);
      expect(firstOkAfter).toBeDefined();
      expect(health.probes.every((p) => p.status === 200 || p.status === 503)).toBe(true);
      expect((await call(`${server.url}/api/health`)).status).toBe(200);
      await expectNothingLostOrDoubled(server.url, chat, sends);
      expect(alive(server)).toBe(true);
    }, 60_000);
  }

  if (fault === 'black-hole') {
    it('answers within its timeouts while the database path is black-holed, and recovers', async () => {
      const db = await freshDatabase();
      drop = db.drop;
      const target = new URL(db.databaseUrl!);
      proxy = await startProxy({ host: target.hostname, port: Number(target.port || 5432) });
      const viaProxy = new URL(target);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const server = await startChild({
        dataDir: tempDir(),
        databaseUrl: viaProxy.toString(),
        env,
      });
      const { alice, chat, aliceSocket } = await setUp(server.url);
      const sends: Send[] = [];
      const send = async (name: string, via: 'socket' | 'rest') => {
        const payload = { chatId: chat.id, content: `${name} ✓`, clientMessageId: name };
        const started = now();
        const result =
          via === 'socket'
            ? await socketSend(aliceSocket, payload)
            : await restSend(server.url, alice, payload);
        const done = { ...payload, user: alice, ...result, at: now(), ms: now() - started };
        sends.push(done);
        return done;
      };
      const timed = async (path: string, token?: string) => {
        const started = now();
        const res = await call(`${server.url}/api${path}`, token ? { token } : {});
        return { ...res, ms: now() - started };
      };
      expect((await send('before', 'socket')).answer).toBe('ok');

      proxy.blackHole();
      const [health, socketAnswer, restAnswer, chats] = await Promise.all([
        timed('/health'),
        send('during-1', 'socket'),
        send('during-2', 'rest'),
        timed('/chats', alice.token),
      ]);
      // Asked again once the server knows: answered at once.
      const [health2, again] = await Promise.all([timed('/health'), send('during-3', 'socket')]);
      console.info(
        `black-hole: health ${health.status} in ${round(health.ms)} ms, socket send ` +
          `${socketAnswer.answer} in ${round(socketAnswer.ms)} ms, REST send ${restAnswer.answer} in ` +
          `${round(restAnswer.ms)} ms, GET /chats ${chats.status} in ${round(chats.ms)} ms; then ` +
          `health ${health2.status} in ${round(health2.ms)} ms, send ${again.answer} in ${round(again.ms)} ms`,
      );
      expect(health.status).toBe(503);
      expect(health.ms).toBeLessThan(HEALTH_WITHIN_MS);
      expect(health2.status).toBe(503);
      expect(health2.ms).toBeLessThan(HEALTH_WITHIN_MS);
      for (const answer of [socketAnswer, restAnswer, again]) {
        expect(answer.answer).toBe('unavailable');
        expect(answer.ms).toBeLessThan(ANSWER_WITHIN_MS);
      }
      expect(chats.status).toBe(503);
      expect(chats.ms).toBeLessThan(ANSWER_WITHIN_MS);
      expect(alive(server)).toBe(true);

      proxy.heal();
      const healed = now();
      let recovered: number | undefined;
      while (now() - healed < 20_000) {
        if ((await call(`${server.url}/api/health`)).status === 200) {
          recovered = now() - healed;
          break;
        }
        await sleep(50);
      }
      console.info(`black-hole healed: health 200 after ${recovered ?? '-'} ms`);
      expect(recovered).toBeDefined();
      expect((await send('after', 'socket')).answer).toBe('ok');
      await expectNothingLostOrDoubled(server.url, chat, sends);
    }, 60_000);
  }

  if (fault === 'restart') {
    it('survives its PostgreSQL stopped and started under load: all answered, nothing lost', async () => {
      instance = await createPgInstance();
      const server = await startChild({ dataDir: tempDir(), databaseUrl: instance.url, env });
      const { alice, bob, chat, aliceSocket, bobSocket } = await setUp(server.url);
      const health = pollHealth(server.url);
      const traffic = load(server.url, chat, [
        { name: 'alice-socket', user: alice, socket: aliceSocket },
        { name: 'bob-socket', user: bob, socket: bobSocket },
        { name: 'alice-rest', user: alice },
        { name: 'bob-rest', user: bob },
      ]);
      // PostgreSQL is certainly down from the end of `pg_ctl stop` to the start of `pg_ctl
      // start`, and certainly up once `pg_ctl start` returns.
      let stopped = 0;
      let starting = 0;
      let started = 0;
      try {
        await sleep(800);
        await instance.stop();
        stopped = now();
        await sleep(2000);
        starting = now();
        await instance.start();
        started = now();
        await sleep(2000);
      } finally {
        await traffic.stop();
        await health.stop();
      }

      expect(alive(server)).toBe(true);
      const { sends } = traffic;
      // Asked and answered while PostgreSQL was down.
      const whileDown = (r: { at: number; ms: number }) => r.at - r.ms > stopped && r.at < starting;
      const during = sends.filter(whileDown);
      const firstOk = sends.find((s) => s.answer === 'ok' && s.at > starting);
      const firstHealthy = health.probes.find((p) => p.status === 200 && p.at > starting);
      const after = (r?: { at: number }) => (r ? `${round(r.at - started)} ms` : 'never');
      console.info(
        `restart: ${sends.length} sends, ${during.length} answered during the outage ` +
          `(${during.filter((s) => s.answer === 'unavailable').length} unavailable, slowest ` +
          `${round(Math.max(0, ...during.map((s) => s.ms)))} ms); health during: ` +
          `${[...new Set(health.probes.filter(whileDown).map((p) => p.status))].join('/')}; ` +
          `pg_ctl start took ${round(started - starting)} ms; from its return, first ack ` +
          `${after(firstOk)}, health 200 ${after(firstHealthy)}`,
      );
      expect(during.length).toBeGreaterThan(0);
      const slowOrOdd = during.filter((s) => s.answer !== 'unavailable' || s.ms > 2000);
      expect(slowOrOdd.map((s) => `${s.clientMessageId}: ${s.answer} in ${s.ms} ms`)).toEqual([]);
      const healthDuring = health.probes.filter(whileDown);
      expect(healthDuring.length).toBeGreaterThan(0);
      expect(healthDuring.filter((p) => p.status !== 503)).toEqual([]);
      expect(firstOk).toBeDefined();
      expect(firstHealthy).toBeDefined();
      expect(firstHealthy!.at - started).toBeLessThan(1000);
      await expectNothingLostOrDoubled(server.url, chat, sends);
      expect(alive(server)).toBe(true);
    }, 60_000);
  }
});
