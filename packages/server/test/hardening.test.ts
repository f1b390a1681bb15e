import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Chat, ErrorResponse, Message, MessagePage } from '@parley/protocol';
import {
  api,
  closeSockets,
  connect,
  connectRefused,
  createDirect,
  createGroup,
  emitAck,
  registerUser,
  waitFor,
  type TestUser,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

// What clients other than ours do: odd but legitimate requests, and inputs a fuzzer sends.

const ALLOWED = 'http://app.example.com';
let server: TestServer;
let alice: TestUser;
let bob: TestUser;
let chat: Chat;
beforeAll(async () => {
  server = await startServer({ corsOrigins: [ALLOWED] });
  alice = await registerUser(server.url);
  bob = await registerUser(server.url);
  chat = await createDirect(alice, bob);
});
afterEach(() => closeSockets());
afterAll(() => server.close());

const raw = (path: string, init: RequestInit = {}) => fetch(`${server.url}/api${path}`, init);

describe('HTTP clients', () => {
  it('lets a browser on a CORS_ORIGINS origin use PUT, PATCH and DELETE', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const res = await raw(`/chats/${chat.id}`, {
        method: 'OPTIONS',
        headers: {
          origin: ALLOWED,
          'access-control-request-method': method,
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(res.headers.get('access-control-allow-methods')).toContain(method);
    }
  });

  it('reads an empty body sent as application/json as no body', async () => {
    const owner = await registerUser(server.url);
    const member = await registerUser(server.url);
    const group = await createGroup(owner, [member]);
    const res = await raw(`/chats/${group.id}/participants/${member.user.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${member.token}`, 'content-type': 'application/json' },
    });
    expect(res.status).toBe(204);
  });

  it('takes a trailing slash as the same path', async () => {
    const list = await alice.api.get<{ chats: Chat[] }>('/chats/');
    expect(list.status).toBe(200);
    expect(list.body.chats.map((c) => c.id)).toContain(chat.id);
    expect((await alice.api.get<Chat>(`/chats/${chat.id}/`)).body.id).toBe(chat.id);
  });

  it('answers oversized headers in the error shape', async () => {
    const res = await raw('/auth/me', {
      headers: { authorization: `Bearer ${'x'.repeat(20_000)}` },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorResponse;
    expect(body.error.code).toBe('validation_failed');
  });

  it('answers a path with a malformed escape in the error shape, readable by an allowed origin', async () => {
    for (const path of ['/chats/%ZZ', '/chats/%', '/users/%E0%A4%A']) {
      const res = await raw(path, {
        headers: { authorization: `Bearer ${alice.token}`, origin: ALLOWED },
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const body = (await res.json()) as ErrorResponse;
      expect(body.error.code).toBe('validation_failed');
    }
    const elsewhere = await raw('/chats/%ZZ', { headers: { origin: 'http://evil.example' } });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('tells a rate-limited client when to retry', async () => {
    const limited = await startServer({ rateLimitMessages: 1 });
    try {
      const carol = await registerUser(limited.url);
      const dave = await registerUser(limited.url);
      const direct = await createDirect(carol, dave);
      await carol.api.post(`/chats/${direct.id}/messages`, { content: 'one' });
      const res = await fetch(`${limited.url}/api/chats/${direct.id}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${carol.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'two' }),
      });
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  it.each(['0x5', '1e1', ' 5', '-1', '5.0'])('refuses limit=%j', async (limit) => {
    const res = await alice.api.get<ErrorResponse>(
      `/chats/${chat.id}/messages?limit=${encodeURIComponent(limit)}`,
    );
    expect(res.status).toBe(400);
  });

  it('refuses a token without an expiry', async () => {
    const token = await new SignJWT({ ver: 0 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(alice.user.id)
      .setJti(randomUUID())
      .sign(new TextEncoder().encode(server.config.jwtSecret));
    expect((await api(server.url, token).get('/auth/me')).status).toBe(401);
  });

  it.each([
    ['no jti', { ver: 0 }, false],
    ['no ver', {}, true],
  ])(
    'refuses a token from before sign-out existed (%s): no sign-out could end it',
    async (_what, claims, jti) => {
      let jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(alice.user.id)
        .setIssuedAt()
        .setExpirationTime('1h');
      if (jti) jwt = jwt.setJti(randomUUID());
      const token = await jwt.sign(new TextEncoder().encode(server.config.jwtSecret));
      expect((await api(server.url, token).get('/auth/me')).status).toBe(401);
    },
  );
});

describe('text', () => {
  it('delivers and stores content exactly as sent, a leading byte-order mark included', async () => {
    const content = '\uFEFF\u05E9\u05DC\u05D5\u05DD  \r\n👩‍👩‍👧 ';
    const sent = await alice.api.post<Message>(`/chats/${chat.id}/messages`, {
      content,
      clientMessageId: '\uFEFFid',
    });
    expect(sent.body.content).toBe(content);
    expect(sent.body.client_message_id).toBe('\uFEFFid');
    const page = await bob.api.get<MessagePage>(`/chats/${chat.id}/messages?limit=1`);
    expect(page.body.messages[0]?.content).toBe(content);
    expect(page.body.messages[0]?.client_message_id).toBe('\uFEFFid');
  });

  it('refuses text with a lone surrogate, which could only be stored altered', async () => {
    const res = await raw(`/chats/${chat.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: '{"content":"a\\ud800b"}',
    });
    expect(res.status).toBe(400);
  });

  it('refuses display and group names that are only whitespace', async () => {
    const reg = await api(server.url).post('/auth/register', {
      username: `ws_${Date.now()}`,
      password: 'long enough pw',
      displayName: '   ',
    });
    expect(reg.status).toBe(400);
    const group = await alice.api.post('/chats', {
      type: 'group',
      name: ' \t ',
      participantIds: [],
    });
    expect(group.status).toBe(400);
  });
});

describe('socket clients', () => {
  it('are disconnected when their token expires, and refused on reconnect', async () => {
    const shortLived = await startServer({ jwtTtlSeconds: 2 });
    try {
      const user = await registerUser(shortLived.url);
      const socket = await connect(shortLived.url, user.token);
      const reason = await new Promise<string>((resolve) => socket.once('disconnect', resolve));
      expect(reason).toBe('io server disconnect');
      const refused = await connectRefused(shortLived.url, { token: user.token });
      expect(refused.message).toMatch(/expired|invalid/);
    } finally {
      await shortLived.close();
    }
  });

  it('answers an unknown event with validation_failed, by ack or by error event', async () => {
    const socket = await connect(server.url, alice.token);
    const ack = await emitAck(socket, 'chat:join', {}); // a known one, for contrast
    expect(ack).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    const unknown = await emitAck(socket, 'bogus:event' as 'chat:join', { chatId: chat.id });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    const error = waitFor(socket, 'error');
    (socket.emit as (event: string, payload: unknown) => void)('nope', 1);
    expect(await error).toMatchObject({ code: 'validation_failed' });
  });
});

describe('a database outage', () => {
  it('answers API calls with 503 unavailable, not 500', async () => {
    const broken = await startServer();
    try {
      const user = await registerUser(broken.url);
      // PostgreSQL gone for every node, as an outage is.
      await Promise.all(broken.nodes.map((node) => node.database.close()));
      const res = await user.api.get<ErrorResponse>('/chats');
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('unavailable');
    } finally {
      await broken.close();
    }
  });
});
