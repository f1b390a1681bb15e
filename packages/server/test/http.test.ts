import { randomBytes, randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Chat, ErrorResponse, Message, MessagePage, User } from '@parley/protocol';
import {
  api,
  closeSockets,
  connect,
  connectRefused,
  createDirect,
  createGroup,
  record,
  registerUser,
  sendMessage,
  uniqueName,
  waitFor,
  type TestUser,
} from './helpers/client.js';
import { originAllowed } from '../src/origin.js';
import { startServer, type TestServer } from './helpers/server.js';
import { signToken } from './helpers/tokens.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

// Two servers, started at once: the default one, and one with CORS_ORIGINS and low rate limits.
// On the second, users are made through the service (`tokenFor`), so only the rate-limit test
// spends the per-IP auth allowance.
let server: TestServer;
let special: TestServer;
beforeAll(async () => {
  [server, special] = await Promise.all([
    startServer(),
    startServer({ corsOrigins: ['http://app.example'], rateLimitAuth: 3, rateLimitMessages: 3 }),
  ]);
});
afterEach(() => {
  closeSockets();
});
afterAll(async () => {
  closeSockets();
  await Promise.all([server.close(), special.close()]);
});

/** Asserts the contract's error shape, and that it leaks no stack trace or SQL. */
function expectError(
  res: { status: number; body: unknown },
  status: number,
  code: string,
  label = '',
): void {
  expect(res.status, label).toBe(status);
  expect(res.body, label).toEqual({ error: { code, message: expect.any(String) as unknown } });
  const text = JSON.stringify(res.body);
  expect(text, label).not.toMatch(/\bat .*\(.*:\d+:\d+\)|\.ts:\d+|node_modules/);
  expect(text, label).not.toMatch(/\b(SELECT|INSERT|UPDATE|DELETE FROM|WHERE)\b/);
}

/** A raw request: any body text, any headers, nothing added. */
async function raw(
  url: string,
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: init.headers ?? {},
    body: init.body ?? null,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text, the assertions will say so
  }
  return { status: res.status, body, headers: res.headers };
}

describe('conventions', () => {
  it('answers an unknown route with 404 not_found', async () => {
    const me = await registerUser(server.url);
    expectError(await api(server.url).get('/nope'), 404, 'not_found');
    expectError(await me.api.get('/chats/x/y/z'), 404, 'not_found');
    expectError(await me.api.request('PUT', '/chats'), 404, 'not_found');
    expectError(await raw(server.url, 'GET', '/no/such/page'), 404, 'not_found');
  });

  it('answers malformed JSON with 400 validation_failed', async () => {
    const me = await registerUser(server.url);
    const json = { 'content-type': 'application/json' };
    expectError(
      await raw(server.url, 'POST', '/api/auth/login', {
        body: '{"username": "x", ',
        headers: json,
      }),
      400,
      'validation_failed',
    );
    expectError(
      await raw(server.url, 'POST', '/api/chats', {
        body: '{type: direct}',
        headers: { ...json, authorization: `Bearer ${me.token}` },
      }),
      400,
      'validation_failed',
    );
  });

  it('answers a body over 64 KiB with 413 payload_too_large, storing nothing', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const big = 'x'.repeat(70_000);
    expectError(
      await api(server.url).post('/auth/register', { username: uniqueName(), password: big }),
      413,
      'payload_too_large',
    );
    expectError(
      await alice.api.post(`/chats/${chat.id}/messages`, { content: big }),
      413,
      'payload_too_large',
    );
    const page = await bob.api.get<MessagePage>(`/chats/${chat.id}/messages`);
    expect(page.body.messages).toEqual([]);
  });

  it('takes an upper-case UUID as the same id (UUIDs are case-insensitive)', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const group = await createGroup(alice, [bob], 'case');
    const upper = group.id.toUpperCase();

    const user = await alice.api.get<User>(`/users/${bob.user.id.toUpperCase()}`);
    expect.soft(user.status).toBe(200);
    expect.soft(user.body.id).toBe(bob.user.id);

    const res = await alice.api.get<Chat>(`/chats/${upper}`);
    expect.soft(res.status, 'GET /chats/UPPER').toBe(200);
    expect.soft(res.body.id).toBe(group.id);

    // A write through an upper-case id answers for what it did, never a 500 after committing.
    const renamed = await alice.api.patch<Chat>(`/chats/${upper}`, { name: 'renamed' });
    expect.soft(renamed.status, 'PATCH /chats/UPPER').toBe(200);
    expect.soft(renamed.body.name).toBe('renamed');
  });

  it('GET /api/health answers 200 { status: "ok" } without auth', async () => {
    const res = await api(server.url).get('/health');
    // With REDIS_URL it says how Redis is, beside (docs/API.md, docs/SCALING.md).
    const body = server.config.redisUrl ? { status: 'ok', redis: 'up' } : { status: 'ok' };
    expect(res).toEqual({ status: 200, body });
  });

  it('serves the OpenAPI document without auth, listing the contract’s paths', async () => {
    const res = await api(server.url).get<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    }>('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    const expected: Record<string, string[]> = {
      '/api/health': ['get'],
      '/api/auth/register': ['post'],
      '/api/auth/login': ['post'],
      '/api/auth/me': ['get'],
      '/api/users/search': ['get'],
      '/api/users/{userId}': ['get'],
      '/api/chats': ['get', 'post'],
      '/api/chats/{chatId}': ['get', 'patch'],
      '/api/chats/{chatId}/participants': ['post'],
      '/api/chats/{chatId}/participants/{userId}': ['patch', 'delete'],
      '/api/chats/{chatId}/messages': ['get', 'post'],
    };
    for (const [path, methods] of Object.entries(expected)) {
      expect(Object.keys(res.body.paths), path).toContain(path);
      for (const method of methods)
        expect(Object.keys(res.body.paths[path] ?? {}), `${method} ${path}`).toContain(method);
    }
  });

  it('sends ids as strings, counts and seq as integers, times as ISO 8601 UTC', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createGroup(alice, [bob], 'types');
    await alice.api.post(`/chats/${chat.id}/messages`, { content: 'one' });
    await alice.api.post(`/chats/${chat.id}/messages`, { content: 'two' });
    const a = await connect(server.url, alice.token);
    a.disconnect(); // so alice has a last_seen_at, once the presence grace is over
    await expect
      .poll(async () => (await bob.api.get<User>(`/users/${alice.user.id}`)).body.last_seen_at, {
        timeout: 5000,
      })
      .toMatch(ISO_UTC);

    const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
    const time = (v: unknown) => expect(v).toMatch(ISO_UTC);
    const checkUser = (u: User) => {
      expect(typeof u.id).toBe('string');
      time(u.created_at);
      if (u.last_seen_at !== null) time(u.last_seen_at);
    };
    const checkMessage = (m: Message) => {
      expect(isInt(m.seq), `seq ${JSON.stringify(m.seq)}`).toBe(true);
      time(m.created_at);
      expect(m.edited_at).toBeNull();
      expect(m.deleted_at).toBeNull();
    };

    const list = await bob.api.get<{ chats: Chat[] }>('/chats');
    const seen = list.body.chats.find((c) => c.id === chat.id);
    expect(seen).toBeDefined();
    if (!seen) return;
    expect(seen.unread_count).toBe(2);
    expect(isInt(seen.unread_count)).toBe(true);
    time(seen.created_at);
    time(seen.updated_at);
    for (const p of seen.participants) {
      checkUser(p);
      expect(isInt(p.last_read_seq), `last_read_seq ${JSON.stringify(p.last_read_seq)}`).toBe(true);
      time(p.joined_at);
      if (p.last_read_at !== null) time(p.last_read_at);
    }
    const aliceThere = seen.participants.find((p) => p.id === alice.user.id);
    expect(aliceThere?.last_read_seq).toBe(2);
    time(aliceThere?.last_read_at);
    expect(seen.participants.find((p) => p.id === bob.user.id)?.last_read_seq).toBe(0);
    expect(seen.last_message).not.toBeNull();
    if (seen.last_message) checkMessage(seen.last_message);

    const page = await bob.api.get<MessagePage>(`/chats/${chat.id}/messages`);
    expect(page.body.messages.map((m) => m.seq)).toEqual([1, 2]);
    page.body.messages.forEach(checkMessage);

    const aliceSeen = await bob.api.get<User>(`/users/${alice.user.id}`);
    checkUser(aliceSeen.body);
    time(aliceSeen.body.last_seen_at);
    checkUser((await alice.api.get<{ user: User }>('/auth/me')).body.user);
  });
});

describe('authentication', () => {
  let me: TestUser;
  let chat: Chat;
  beforeAll(async () => {
    me = await registerUser(server.url);
    const other = await registerUser(server.url);
    chat = await createGroup(me, [other]);
  });

  const routes = () => {
    const c = chat.id;
    const u = randomUUID();
    return [
      ['GET', '/api/auth/me', undefined],
      ['GET', '/api/users/search?q=ab', undefined],
      ['GET', `/api/users/${u}`, undefined],
      ['GET', '/api/chats', undefined],
      ['POST', '/api/chats', { type: 'direct', userId: u }],
      ['GET', `/api/chats/${c}`, undefined],
      ['PATCH', `/api/chats/${c}`, { name: 'renamed' }],
      ['GET', `/api/chats/${c}/messages`, undefined],
      ['POST', `/api/chats/${c}/messages`, { content: 'hi' }],
      ['POST', `/api/chats/${c}/participants`, { userId: u }],
      ['PATCH', `/api/chats/${c}/participants/${u}`, { role: 'admin' }],
      ['DELETE', `/api/chats/${c}/participants/${u}`, undefined],
    ] as const;
  };

  it('answers 401 unauthorized on every protected route without a valid token', async () => {
    const badHeaders: Record<string, string>[] = [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: 'Basic x' },
      { authorization: me.token },
      { authorization: 'Bearer not-a-token' },
      { authorization: `Bearer ${me.token}x` },
      {
        authorization: `Bearer ${await signToken(randomBytes(32).toString('hex'), me.user.id, Math.floor(Date.now() / 1000) + 3600)}`,
      },
      {
        authorization: `Bearer ${await signToken(server.config.jwtSecret, me.user.id, Math.floor(Date.now() / 1000) - 60)}`,
      },
    ];
    for (const [method, path, body] of routes()) {
      for (const headers of badHeaders) {
        const res = await raw(server.url, method, path, {
          headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        expectError(res, 401, 'unauthorized', `${method} ${path} ${JSON.stringify(headers)}`);
      }
    }
    // Nothing changed meanwhile.
    const view = await me.api.get<Chat>(`/chats/${chat.id}`);
    expect(view.body.name).toBe('Group');
    expect(view.body.last_message).toBeNull();
  });

  it('answers 401 before any validation error', async () => {
    const json = { 'content-type': 'application/json' };
    const cases: [string, string, string | undefined][] = [
      ['POST', '/api/chats', '{}'],
      ['POST', '/api/chats', '{not json'],
      ['POST', `/api/chats/${chat.id}/messages`, JSON.stringify({ content: '' })],
      ['POST', '/api/chats/not-a-uuid/messages', JSON.stringify({ content: 'hi' })],
      ['GET', '/api/chats/not-a-uuid', undefined],
      ['GET', `/api/chats/${chat.id}/messages?limit=1000`, undefined],
      ['GET', '/api/users/search', undefined],
      ['PATCH', `/api/chats/${chat.id}`, JSON.stringify({ name: '' })],
    ];
    for (const [method, path, body] of cases) {
      const res = await raw(server.url, method, path, { ...(body ? { body, headers: json } : {}) });
      expectError(res, 401, 'unauthorized', `${method} ${path} ${body ?? ''}`);
    }
    // And with a token, the same requests are refused for what they are.
    expectError(await me.api.post('/chats', {}), 400, 'validation_failed');
    expectError(await me.api.get('/chats/not-a-uuid'), 400, 'validation_failed');
  });

  it('refuses a token whose user no longer exists', async () => {
    const ghost = await registerUser(server.url);
    expect((await ghost.api.get('/auth/me')).status).toBe(200);
    await server.app.database.db.deleteFrom('users').where('id', '=', ghost.user.id).execute();
    expectError(await ghost.api.get('/auth/me'), 401, 'unauthorized');
    expectError(await ghost.api.get('/chats'), 401, 'unauthorized');
  });
});

describe('origin allowlist', () => {
  it('refuses a foreign Origin with 403 and allows the same origin or none', async () => {
    const me = await registerUser(server.url);
    const own = new URL(server.url).origin; // http://127.0.0.1:PORT, the Host fetch sends
    const port = new URL(server.url).port;
    for (const origin of [
      'http://evil.example',
      `http://127.0.0.1:${Number(port) + 1}`,
      `http://localhost:${port}x`,
      'null',
    ]) {
      expectError(
        await raw(server.url, 'GET', '/api/health', { headers: { origin } }),
        403,
        'forbidden',
        origin,
      );
      const withToken = await raw(server.url, 'GET', '/api/chats', {
        headers: { origin, authorization: `Bearer ${me.token}` },
      });
      expectError(withToken, 403, 'forbidden', origin);
      // The refusal carries nosniff like every other answer.
      expect(withToken.headers.get('x-content-type-options')).toBe('nosniff');
    }
    // A refused origin changes nothing, even with a valid token.
    const post = await raw(server.url, 'POST', '/api/chats', {
      headers: {
        origin: 'http://evil.example',
        authorization: `Bearer ${me.token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ type: 'group', name: 'sneaky', participantIds: [] }),
    });
    expectError(post, 403, 'forbidden');
    expect((await me.api.get<{ chats: Chat[] }>('/chats')).body.chats).toEqual([]);

    expect((await raw(server.url, 'GET', '/api/health', { headers: { origin: own } })).status).toBe(
      200,
    );
    const same = await raw(server.url, 'GET', '/api/auth/me', {
      headers: { origin: own, authorization: `Bearer ${me.token}` },
    });
    expect(same.status).toBe(200);
    expect((await raw(server.url, 'GET', '/api/health')).status).toBe(200);
  });

  it('refuses a foreign Origin on the socket handshake', async () => {
    const me = await registerUser(server.url);
    const err = await connectRefused(
      server.url,
      { token: me.token },
      { origin: 'http://evil.example' },
    );
    expect(err).toBeInstanceOf(Error);
    // The same origin is fine.
    await connectWith(server.url, me.token, new URL(server.url).origin);
  });

  it('takes an Origin as the same origin whether or not either side names the default port', () => {
    // Behind a proxy the Host header is whatever the client or the proxy wrote.
    expect(originAllowed('http://chat.example', 'chat.example:80', [])).toBe(true);
    expect(originAllowed('http://chat.example:80', 'chat.example', [])).toBe(true);
    expect(originAllowed('https://chat.example', 'Chat.Example:443', [])).toBe(true);
    expect(originAllowed('https://chat.example', 'chat.example:80', [])).toBe(false);
    expect(originAllowed('http://chat.example', 'chat.example:8080', [])).toBe(false);
    expect(originAllowed('http://chat.example', 'other.example', [])).toBe(false);
  });

  describe('with CORS_ORIGINS', () => {
    it('allows a listed origin on HTTP, with Access-Control-Allow-Origin, and refuses others', async () => {
      const me = await tokenFor(special, 'user');
      const res = await raw(special.url, 'GET', '/api/auth/me', {
        headers: { origin: 'http://app.example', authorization: `Bearer ${me.token}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://app.example');

      const preflight = await raw(special.url, 'OPTIONS', '/api/chats', {
        headers: {
          origin: 'http://app.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      expect(preflight.status).toBeLessThan(300);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://app.example');

      const foreign = await raw(special.url, 'GET', '/api/health', {
        headers: { origin: 'http://evil.example' },
      });
      expectError(foreign, 403, 'forbidden');
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
      // Besides the listed one, the same origin still works.
      const same = await raw(special.url, 'GET', '/api/health', {
        headers: { origin: new URL(special.url).origin },
      });
      expect(same.status).toBe(200);
    });

    it('allows a listed origin on the socket handshake, and refuses others', async () => {
      const alice = await tokenFor(special, 'user');
      const bob = await tokenFor(special, 'user');
      const chat = await createDirect(alice, bob);
      const a = await connectWith(special.url, alice.token, 'http://app.example');
      const b = await connect(special.url, bob.token);
      const arrived = new Promise<Message>((resolve) => a.once('message:new', resolve));
      const ack = await sendMessage(b, { chatId: chat.id, content: 'over cors' });
      expect(ack.ok).toBe(true);
      expect((await arrived).content).toBe('over cors');

      await connectRefused(special.url, { token: alice.token }, { origin: 'http://evil.example' });
      await connectRefused(
        special.url,
        { token: alice.token },
        { origin: 'http://app.example.evil.example' },
      );
    });
  });
});

const extraSockets: ReturnType<typeof io>[] = [];
afterEach(() => {
  for (const s of extraSockets.splice(0)) s.disconnect();
});

/** A socket whose handshake carries an Origin header; rejects on connect_error. */
async function connectWith(url: string, token: string, origin: string) {
  const socket = io(url, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: { origin },
  });
  extraSockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return socket;
}

describe('rate limits', () => {
  it('answers the 4th login or register attempt from one IP within a minute with 429', async () => {
    const anon = api(special.url);
    const me = await registerUser(special.url, { password: 'the right password' }); // 1
    const ok = await anon.post('/auth/login', {
      username: me.user.username,
      password: 'the right password',
    }); // 2
    expect(ok.status).toBe(200);
    const wrong = await anon.post('/auth/login', {
      username: me.user.username,
      password: 'the wrong password',
    }); // 3
    expectError(wrong, 401, 'unauthorized');

    expectError(
      await anon.post('/auth/login', {
        username: me.user.username,
        password: 'the right password',
      }),
      429,
      'rate_limited',
    );
    const name = uniqueName('late');
    expectError(
      await anon.post('/auth/register', { username: name, password: 'long enough pw' }),
      429,
      'rate_limited',
    );
    // The refused registration stored nothing; other routes are not limited.
    const found = await me.api.get<{ users: User[] }>(`/users/search?q=${name}`);
    expect(found.status).toBe(200);
    expect(found.body.users).toEqual([]);
  });

  it('answers the 4th send within 10 s with rate_limited, on the socket and over REST, storing nothing', async () => {
    const [alice, bob] = await Promise.all([tokenFor(special, 'alice'), tokenFor(special, 'bob')]);
    const chat = await createDirect(alice, bob);
    const a = await connect(special.url, alice.token);
    const b = await connect(special.url, bob.token);
    const bobGot = record(b, 'message:new');

    for (const n of [1, 2, 3])
      expect((await sendMessage(a, { chatId: chat.id, content: `m${n}` })).ok).toBe(true);
    expect(await sendMessage(a, { chatId: chat.id, content: 'm4' })).toEqual({
      ok: false,
      error: { code: 'rate_limited', message: expect.any(String) as unknown },
    });
    expectError(
      await alice.api.post(`/chats/${chat.id}/messages`, { content: 'm5' }),
      429,
      'rate_limited',
    );

    // Per user: bob may still send. With REDIS_URL the broadcast comes through Redis's stream
    // and may follow the ack: waited for, not a round trip.
    const heard = waitFor(b, 'message:new');
    expect((await sendMessage(b, { chatId: chat.id, content: 'from bob' })).ok).toBe(true);
    await heard;
    expect(bobGot.map((m) => m.content)).toEqual(['m1', 'm2', 'm3', 'from bob']);
    const page = await bob.api.get<MessagePage>(`/chats/${chat.id}/messages`);
    expect(page.body.messages.map((m) => m.content)).toEqual(['m1', 'm2', 'm3', 'from bob']);
  });
});

/**
 * A user on a server whose auth allowance may be spent: created through the service (as the
 * register route would), so the rate limit under test is not in the way.
 */
async function tokenFor(s: TestServer, prefix: string): Promise<TestUser> {
  const res = await s.app.services.auth.register({
    username: uniqueName(prefix),
    password: 'correct horse battery',
  });
  return { ...res, api: api(s.url, res.token) };
}

describe('GET /api/health when the database is gone', () => {
  it('answers 503 unavailable in the error shape', async () => {
    const broken = await startServer();
    try {
      // PostgreSQL gone for every node, as an outage is.
      await Promise.all(broken.nodes.map((node) => node.database.close()));
      const res = await api(broken.url).get<ErrorResponse>('/health');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('unavailable');
    } finally {
      await broken.close();
    }
  });
});
