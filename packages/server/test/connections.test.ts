import net from 'node:net';
import { io } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuthResponse } from '@parley/protocol';
import {
  api,
  closeSockets,
  connect,
  createDirect,
  emitAck,
  registerUser,
  type ClientSocket,
  type TestUser,
} from './helpers/client.js';
import { sleep } from './helpers/process.js';
import { startServer, type TestServer } from './helpers/server.js';

/** The `data.code` of the connect_error a refused handshake got (or `connected`). */
async function outcome(url: string, token: string): Promise<string> {
  try {
    await connect(url, token);
    return 'connected';
  } catch (err) {
    return (err as { data?: { code?: string } }).data?.code ?? `no code: ${String(err)}`;
  }
}

/** Opens sockets for the user until one is refused; how many were let in. */
async function howManyFit(url: string, user: TestUser, atMost = 10): Promise<number> {
  const opened: ClientSocket[] = [];
  try {
    for (let i = 0; i < atMost; i++) {
      try {
        opened.push(await connect(url, user.token));
      } catch {
        break;
      }
    }
    return opened.length;
  } finally {
    for (const s of opened) s.disconnect();
  }
}

describe('MAX_SOCKETS_PER_USER', () => {
  const MAX = 3;
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ maxSocketsPerUser: MAX });
  });
  afterEach(() => closeSockets());
  afterAll(() => server.close());

  it('refuses one socket more with connect_error rate_limited; the others and other users go on', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const open = await Promise.all(
      Array.from({ length: MAX }, () => connect(server.url, alice.token)),
    );
    expect(await outcome(server.url, alice.token)).toBe('rate_limited');
    // The ones let in still work, and bob is not affected by alice's count.
    for (const s of open) {
      expect(s.connected).toBe(true);
      expect(await emitAck(s, 'typing:start', { chatId: chat.id })).toEqual({ ok: true });
    }
    expect(await outcome(server.url, bob.token)).toBe('connected');
  });

  it('gives the place back when a socket disconnects, from either side', async () => {
    const password = 'correct horse battery';
    const alice = await registerUser(server.url, { password });
    for (let round = 0; round < 5; round++) expect(await howManyFit(server.url, alice)).toBe(MAX);
    // Disconnected by the server (sign out everywhere), not by the client.
    const open = await Promise.all(
      Array.from({ length: MAX }, () => connect(server.url, alice.token)),
    );
    const gone = open.map((s) => new Promise((resolve) => s.once('disconnect', resolve)));
    expect((await alice.api.post('/auth/logout-all')).status).toBe(204);
    await Promise.all(gone);
    const login = await api(server.url).post<AuthResponse>('/auth/login', {
      username: alice.user.username,
      password,
    });
    expect(login.status).toBe(200);
    expect(await howManyFit(server.url, { ...alice, token: login.body.token })).toBe(MAX);
  });

  it('lets exactly the limit in when handshakes race', async () => {
    const alice = await registerUser(server.url);
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, () => outcome(server.url, alice.token)),
    );
    expect(outcomes.filter((o) => o === 'connected')).toHaveLength(MAX);
    expect(outcomes.filter((o) => o === 'rate_limited')).toHaveLength(12 - MAX);
  });

  /** Runs `during` in the handshake right after the place is taken (`presence.admit`), once. */
  function interceptHandshake(during: () => Promise<void>) {
    const presence = server.app.services.presence;
    const original = presence.admit.bind(presence);
    let first = true;
    presence.admit = async (userId: string, socketId: string) => {
      await original(userId, socketId);
      if (first) {
        first = false;
        await during();
      }
    };
    return () => {
      presence.admit = original;
    };
  }

  it('gives the place back when the handshake fails after taking it', async () => {
    const alice = await registerUser(server.url);
    const restore = interceptHandshake(() => Promise.reject(new Error('injected failure')));
    try {
      expect(await outcome(server.url, alice.token)).toBe('internal');
    } finally {
      restore();
    }
    expect(await howManyFit(server.url, alice)).toBe(MAX);
  });

  it('gives the place back when the client goes away in the middle of its handshake', async () => {
    const alice = await registerUser(server.url);
    let reached = () => {};
    const inHandshake = new Promise<void>((resolve) => (reached = resolve));
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const restore = interceptHandshake(() => {
      reached();
      return released;
    });
    try {
      const leaving = io(server.url, {
        auth: { token: alice.token },
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
      });
      await inHandshake;
      leaving.disconnect();
      await sleep(100);
      release();
      await sleep(100);
    } finally {
      restore();
    }
    expect(await howManyFit(server.url, alice)).toBe(MAX);
  });
});

describe('handshakes at once', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ maxSocketsPerUser: 50 });
  });
  afterEach(() => closeSockets());
  afterAll(() => server.close());

  /** Holds every handshake's session read until `release`; counts those that started. */
  function holdHandshakes() {
    const auth = server.app.services.auth;
    const original = auth.handshake.bind(auth);
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    auth.handshake = async (token) => {
      started++;
      await released;
      return original(token);
    };
    return { started: () => started, release, restore: () => (auth.handshake = original) };
  }

  it('works on 20 at a time; the others wait their turn and then connect, none refused', async () => {
    const alice = await registerUser(server.url);
    // One node: its handshakes are the ones held and counted.
    const node = server.nodeUrls[0] ?? server.url;
    const held = holdHandshakes();
    try {
      const clients = Array.from({ length: 25 }, () => outcome(node, alice.token));
      while (held.started() < 20) await sleep(20);
      // Every client has reached the server by now; only 20 are let in.
      await sleep(300);
      expect(held.started()).toBe(20);
      held.release();
      expect(await Promise.all(clients)).toEqual(Array.from({ length: 25 }, () => 'connected'));
      expect(held.started()).toBe(25);
    } finally {
      held.restore();
    }
  });

  it('hands on the turns of clients refused or gone while waiting: none is lost', async () => {
    const alice = await registerUser(server.url);
    const node = server.nodeUrls[0] ?? server.url;
    const held = holdHandshakes();
    try {
      // 20 refused handshakes take every turn; 5 more clients wait, then give up.
      const refused = Array.from({ length: 20 }, () => outcome(node, 'not a token'));
      while (held.started() < 20) await sleep(20);
      const leaving = Array.from({ length: 5 }, () =>
        io(node, { auth: { token: alice.token }, transports: ['websocket'], forceNew: true }),
      );
      await sleep(300);
      for (const socket of leaving) socket.disconnect();
      held.release();
      expect(await Promise.all(refused)).toEqual(Array.from({ length: 20 }, () => 'unauthorized'));
    } finally {
      held.restore();
    }
    // Had any of those 25 kept its turn, 20 new clients could not all get one.
    const after = await Promise.all(Array.from({ length: 20 }, () => outcome(node, alice.token)));
    expect(after).toEqual(Array.from({ length: 20 }, () => 'connected'));
  });
});

describe('server.maxConnections', () => {
  it('closes one TCP connection more at once, and takes new ones when others close', async () => {
    const server = await startServer({ maxConnections: 4 });
    const sockets: net.Socket[] = [];
    const open = async () => {
      const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
      sockets.push(socket);
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
      return Promise.race([closed, sleep(500).then(() => false)]);
    };
    try {
      for (let i = 0; i < 4; i++) expect(await open()).toBe(false);
      expect(await open()).toBe(true);
      sockets[0]!.destroy();
      await sleep(100);
      expect(await open()).toBe(false);
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
    }
  });
});

/**
 * The production timeouts, all at once on one server: a connection that says nothing, or stops
 * in the middle of a request, is closed; a socket.io client that is merely idle is not.
 */
describe.concurrent('HTTP timeouts', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startServer();
    alice = await registerUser(server.url);
  });
  afterAll(() => server.close());

  /** Opens a raw TCP connection, writes `first`, then `every` (if any) on an interval. */
  async function rawConnection(
    first: string,
    every?: { data: string; ms: number },
  ): Promise<{ closedAfterMs: Promise<number>; received: () => string }> {
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    const started = Date.now();
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    if (first) socket.write(first);
    const timer = every
      ? setInterval(() => socket.writable && socket.write(every.data), every.ms)
      : undefined;
    const closedAfterMs = new Promise<number>((resolve) =>
      socket.once('close', () => {
        clearInterval(timer);
        resolve(Date.now() - started);
      }),
    );
    // Never left open past the test, whatever happens.
    setTimeout(() => socket.destroy(), 50_000).unref();
    return { closedAfterMs, received: () => received };
  }

  const HEADERS = 'GET /api/health HTTP/1.1\r\nHost: localhost\r\n';

  it('closes a connection that sends nothing within the headers timeout (15 s)', async () => {
    const { closedAfterMs } = await rawConnection('');
    const after = await closedAfterMs;
    expect(after).toBeGreaterThanOrEqual(14_500);
    expect(after).toBeLessThan(20_000);
  }, 30_000);

  it('closes a request whose headers stop halfway, or trickle in, within the headers timeout', async () => {
    const [half, trickle] = await Promise.all([
      rawConnection(HEADERS),
      rawConnection(HEADERS, { data: 'X-Slow: 1\r\n', ms: 2000 }),
    ]);
    for (const c of [half, trickle]) {
      const after = await c.closedAfterMs;
      expect(after).toBeGreaterThanOrEqual(14_500);
      expect(after).toBeLessThan(20_000);
    }
    expect(trickle.received()).not.toContain('"status":"ok"');
  }, 30_000);

  it('closes a request whose body stops halfway after 30 s of silence', async () => {
    const { closedAfterMs, received } = await rawConnection(
      'POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100\r\n\r\n{"username":',
    );
    const after = await closedAfterMs;
    expect(after).toBeGreaterThanOrEqual(29_500);
    expect(after).toBeLessThan(35_000);
    expect(received()).toBe('');
  }, 45_000);

  it.each(['websocket', 'polling'])(
    'keeps a %s client that is idle for 40 s connected',
    async (transport) => {
      const socket = await connect(server.url, alice.token, { transports: [transport] });
      try {
        let disconnected = '';
        socket.on('disconnect', (reason) => (disconnected = reason));
        await sleep(40_000);
        expect(disconnected).toBe('');
        expect(socket.connected).toBe(true);
        // And it still talks: an unknown chat is refused, as any other time.
        expect(
          await emitAck(socket, 'chat:leave', { chatId: '00000000-0000-0000-0000-000000000000' }),
        ).toMatchObject({ ok: false, error: { code: 'not_found' } });
      } finally {
        socket.disconnect();
      }
    },
    50_000,
  );
});
