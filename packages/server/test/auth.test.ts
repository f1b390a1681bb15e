import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthResponse, ErrorResponse, MeResponse } from '@parley/protocol';
import { api, registerUser, uniqueName } from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';
import { signToken as sign } from './helpers/tokens.js';

let server: TestServer;
let anon: ReturnType<typeof api>;
beforeAll(async () => {
  server = await startServer();
  anon = api(server.url);
});
afterAll(() => server.close());

describe('POST /api/auth/register', () => {
  it('creates the account and answers 201 with a token and the user, email included', async () => {
    const username = uniqueName('Reg');
    const res = await anon.post<AuthResponse>('/auth/register', {
      username,
      password: 'long enough pw',
      email: `${username}@example.com`,
      displayName: 'Réka Ünal',
    });
    expect(res.status).toBe(201);
    expect(res.body.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(res.body.user).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      username,
      display_name: 'Réka Ünal',
      avatar_url: null,
      status: 'offline',
      last_seen_at: null,
      created_at: expect.stringMatching(/Z$/),
      email: `${username}@example.com`,
    });
    expect(JSON.stringify(res.body)).not.toMatch(/password|argon2/i);
  });

  it('uses the username as display name when none is given', async () => {
    const { user } = await registerUser(server.url, { username: uniqueName('plain') });
    expect(user.display_name).toBe(user.username);
  });

  it('refuses a username or email taken in any case with 409 conflict', async () => {
    const username = uniqueName('Case');
    const email = `${username}@example.com`;
    await registerUser(server.url, { username, email });
    const sameName = await anon.post<ErrorResponse>('/auth/register', {
      username: username.toUpperCase(),
      password: 'long enough pw',
    });
    expect(sameName.status).toBe(409);
    expect(sameName.body.error.code).toBe('conflict');
    const sameEmail = await anon.post<ErrorResponse>('/auth/register', {
      username: uniqueName('other'),
      password: 'long enough pw',
      email: email.toUpperCase(),
    });
    expect(sameEmail.status).toBe(409);
  });

  it.each([
    ['a username too short', { username: 'ab', password: 'long enough pw' }],
    ['a username too long', { username: 'a'.repeat(33), password: 'long enough pw' }],
    ['a username with a space', { username: 'has space', password: 'long enough pw' }],
    ['a password too short', { username: 'validname', password: 'short' }],
    ['a password too long', { username: 'validname', password: 'x'.repeat(129) }],
    ['a missing password', { username: 'validname' }],
    ['a wrong type', { username: 42, password: 'long enough pw' }],
    ['a malformed email', { username: 'validname', password: 'long enough pw', email: 'nope' }],
    ['U+0000 in the password', { username: 'validname', password: 'long\u0000enough' }],
  ])('refuses %s with 400 validation_failed', async (_name, body) => {
    const res = await anon.post<ErrorResponse>('/auth/register', body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.message).toEqual(expect.any(String));
  });

  it('counts password length in code points: 8 emoji are a valid password', async () => {
    const res = await anon.post('/auth/register', {
      username: uniqueName('emo'),
      password: '😀'.repeat(8),
    });
    expect(res.status).toBe(201);
  });
});

describe('POST /api/auth/login', () => {
  it('signs in by username (any case) or by email', async () => {
    const username = uniqueName('Login');
    const email = `${username}@example.com`;
    const { user } = await registerUser(server.url, { username, email, password: 'open sesame!' });
    const byName = await anon.post<AuthResponse>('/auth/login', {
      username: username.toLowerCase(),
      password: 'open sesame!',
    });
    expect(byName.status).toBe(200);
    expect(byName.body.user.id).toBe(user.id);
    const byEmail = await anon.post<AuthResponse>('/auth/login', {
      email,
      password: 'open sesame!',
    });
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.user.email).toBe(email);
  });

  it('gives the same 401 for an unknown user and a wrong password', async () => {
    const { user } = await registerUser(server.url, { password: 'right password' });
    const wrong = await anon.post<ErrorResponse>('/auth/login', {
      username: user.username,
      password: 'wrong password',
    });
    const unknown = await anon.post<ErrorResponse>('/auth/login', {
      username: uniqueName('ghost'),
      password: 'wrong password',
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error.code).toBe('unauthorized');
  });

  it('refuses U+0000 in any login field with 400, not a server error', async () => {
    for (const body of [
      { username: 'a\u0000b', password: 'whatever1' },
      { email: 'a\u0000@b.c', password: 'whatever1' },
      { username: 'someone', password: 'what\u0000ever' },
    ]) {
      const res = await anon.post<ErrorResponse>('/auth/login', body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
  });

  it('refuses a body with neither username nor email with 400', async () => {
    const res = await anon.post<ErrorResponse>('/auth/login', { password: 'whatever1' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
  });
});

describe('GET /api/auth/me and tokens', () => {
  it('returns the signed-in user with email', async () => {
    const alice = await registerUser(server.url, { email: `${uniqueName('me')}@example.com` });
    const res = await alice.api.get<MeResponse>('/auth/me');
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: alice.user.id, email: alice.user.email });
  });

  it('refuses expired, malformed, wrongly signed, unsigned and orphaned tokens with 401', async () => {
    const alice = await registerUser(server.url);
    const secret = server.config.jwtSecret;
    const expired = await sign(secret, alice.user.id, Math.floor(Date.now() / 1000) - 10);
    const otherKey = await sign('another secret that is long enough!!', alice.user.id);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: alice.user.id, exp: Math.floor(Date.now() / 1000) + 60 }),
    ).toString('base64url')}.`;
    const orphan = await sign(secret, '7b1c8f2e-3c1a-4c55-9d0e-0c1f7a9e2b11');
    for (const token of [expired, otherKey, unsigned, orphan, 'not-a-jwt', '']) {
      const res = await api(server.url, token).get<ErrorResponse>('/auth/me');
      expect(res.status, token).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
    }
    // A correctly signed token of the same user still works: the refusals were about the token.
    expect((await api(server.url, await sign(secret, alice.user.id)).get('/auth/me')).status).toBe(
      200,
    );
  });
});

describe('rate limit on sign-in and registration', () => {
  it('answers the attempt past RATE_LIMIT_AUTH per minute from one IP with 429 rate_limited', async () => {
    const limited = await startServer({ rateLimitAuth: 3 });
    try {
      const client = api(limited.url);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        statuses.push(
          (await client.post('/auth/login', { username: 'nobody', password: 'whatever1' })).status,
        );
      }
      const fourth = await client.post<ErrorResponse>('/auth/register', {
        username: uniqueName(),
        password: 'long enough pw',
      });
      expect(statuses).toEqual([401, 401, 401]);
      expect(fourth.status).toBe(429);
      expect(fourth.body.error.code).toBe('rate_limited');
    } finally {
      await limited.close();
    }
  });
});
