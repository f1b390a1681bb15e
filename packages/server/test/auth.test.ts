import { hash } from '@node-rs/argon2';
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
    expect(sameEmail.body.error.code).toBe('conflict');
  });

  it('names a taken username, but never says that an email has an account', async () => {
    const username = uniqueName('Taken');
    const email = `${username}@example.com`;
    await registerUser(server.url, { username, email });
    const sameName = await anon.post<ErrorResponse>('/auth/register', {
      username,
      password: 'long enough pw',
    });
    expect(sameName.body.error.message).toBe('username is taken');
    const sameEmail = await anon.post<ErrorResponse>('/auth/register', {
      username: uniqueName('fresh'),
      password: 'long enough pw',
      email,
    });
    expect(sameEmail.status).toBe(409);
    expect(sameEmail.body.error.message).toBe('username or email is not available');
    expect(sameEmail.body.error.message).not.toMatch(
      /email (is )?(taken|exists|registered|in use)/i,
    );
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

  it.each([
    ['the commonest password', 'password', /common/],
    ['a common password in another case', 'PassWord1', /common/],
    ['an all-digit common password', '12345678', /common/],
    ['a common password with spaces around it', '  iloveyou  ', /common/],
    ['eight spaces', ' '.repeat(8), /visible/],
    ['eight zero-width spaces', '\u200b'.repeat(8), /visible/],
    ['tabs, newlines and no-break spaces', '\t\n\u00a0\u3000\t\n\u00a0\u3000', /visible/],
  ])(
    'refuses %s as a password, in words, with 400 validation_failed',
    async (_n, password, why) => {
      const res = await anon.post<ErrorResponse>('/auth/register', {
        username: uniqueName('weak'),
        password,
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.message).toMatch(/^body\.password: /);
      expect(res.body.error.message).toMatch(why);
    },
  );

  it('refuses the username as the password, in any case', async () => {
    const username = uniqueName('Same');
    for (const password of [username, username.toUpperCase(), ` ${username.toLowerCase()} `]) {
      const res = await anon.post<ErrorResponse>('/auth/register', { username, password });
      expect(res.status, password).toBe(400);
      expect(res.body.error.message).toBe('body.password: must not be the username');
    }
    // The same password with another username is fine: it was refused for being the username.
    const other = await anon.post('/auth/register', {
      username: uniqueName('Diff'),
      password: username,
    });
    expect(other.status).toBe(201);
  });

  it('still signs in an account whose password predates the rules', async () => {
    // Written the way an older server stored it: the rules apply to new passwords only.
    const username = uniqueName('old');
    await server.app.database.db
      .insertInto('users')
      .values({
        username,
        email: null,
        display_name: username,
        password_hash: await hash('password', { algorithm: 2 }),
        avatar_url: null,
      })
      .execute();
    const res = await anon.post('/auth/login', { username, password: 'password' });
    expect(res.status).toBe(200);
  });

  it.each([
    ['only a zero-width space', '\u200b'],
    ['only invisible fillers', '\u3164\u2800 \u200d'],
    ['a right-to-left override', '\u202egnp.exe'],
    ['a left-to-right isolate', 'Bob\u2066'],
    ['a right-to-left mark', 'Eve\u200f'],
    ['an Arabic letter mark', 'Mallory\u061c'],
  ])('refuses a display name with %s', async (_n, displayName) => {
    const res = await anon.post<ErrorResponse>('/auth/register', {
      username: uniqueName('name'),
      password: 'long enough pw',
      displayName,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.message).toMatch(/^body\.displayName: /);
  });

  it('accepts names in any script, with emoji and joiners', async () => {
    for (const displayName of ['Zoë', 'محمد', '李小龙', '👩‍💻 dev', 'नमस्ते']) {
      const res = await anon.post<AuthResponse>('/auth/register', {
        username: uniqueName('intl'),
        password: 'long enough pw',
        displayName,
      });
      expect(res.status, displayName).toBe(201);
      expect(res.body.user.display_name).toBe(displayName);
    }
  });

  it('refuses the same invisible and reversing group names', async () => {
    const alice = await registerUser(server.url);
    for (const name of ['\u200b', '\u202egnp.exe']) {
      const res = await alice.api.post<ErrorResponse>('/chats', {
        type: 'group',
        name,
        participantIds: [],
      });
      expect(res.status, JSON.stringify(name)).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
    }
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

describe('rate limits on sign-in and registration', () => {
  // RATE_LIMIT_AUTH=3: attempts per client IP per minute, and ten times as many failed sign-ins
  // per account name.
  let direct: TestServer;
  let proxied: TestServer;
  beforeAll(async () => {
    [direct, proxied] = await Promise.all([
      startServer({ rateLimitAuth: 3 }),
      startServer({ rateLimitAuth: 3, trustProxy: 1 }),
    ]);
  });
  afterAll(() => Promise.all([direct.close(), proxied.close()]));

  /** A client behind a proxy that says it is `ip`. */
  const from = (target: TestServer, ip: string) => ({
    login: (body: object) =>
      api(target.url).request<ErrorResponse>('POST', '/auth/login', body, {
        'x-forwarded-for': ip,
      }),
    register: (body: object) =>
      api(target.url).request<ErrorResponse>('POST', '/auth/register', body, {
        'x-forwarded-for': ip,
      }),
  });
  const nobody = () => ({ username: uniqueName('nobody'), password: 'whatever1' });
  /** Failed sign-ins an account name takes in a minute: ten times RATE_LIMIT_AUTH. */
  const NAME_FAILURES = 30;

  it('answers the attempt past RATE_LIMIT_AUTH per minute from one IP with 429; without TRUST_PROXY, X-Forwarded-For changes nothing', async () => {
    const statuses: number[] = [];
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      statuses.push((await from(direct, ip).login(nobody())).status);
    }
    const fourth = await from(direct, '198.51.100.4').register({
      username: uniqueName(),
      password: 'long enough pw',
    });
    expect(statuses).toEqual([401, 401, 401]);
    expect(fourth.status).toBe(429);
    expect(fourth.body.error.code).toBe('rate_limited');
  });

  it('with TRUST_PROXY=1, clients behind the proxy each get their own bucket', async () => {
    const first = from(proxied, '203.0.113.10');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await first.login(nobody())).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await from(proxied, '203.0.113.11').login(nobody())).status).toBe(401);
  });

  it('limits failed sign-ins per account name from any number of IPs; successes never count', async () => {
    const password = 'long enough pw';
    const alice = uniqueName('Alice');
    const bob = uniqueName('bob');
    expect(
      (await from(proxied, '203.0.113.20').register({ username: alice, password })).status,
    ).toBe(201);
    expect((await from(proxied, '203.0.113.20').register({ username: bob, password })).status).toBe(
      201,
    );

    // Four successes, each from its own IP: more than the limit, and none refused.
    for (const ip of ['203.0.113.21', '203.0.113.22', '203.0.113.23', '203.0.113.24']) {
      expect((await from(proxied, ip).login({ username: alice, password })).status).toBe(200);
    }
    // A client that failed on its own IP's allowance is refused there, but the account is not
    // locked for anyone else: its owner signs in from elsewhere.
    for (let i = 0; i < 3; i++) {
      const res = await from(proxied, '203.0.113.30').login({ username: alice, password: 'no' });
      expect(res.status).toBe(401);
    }
    expect((await from(proxied, '203.0.113.30').login({ username: alice, password })).status).toBe(
      429,
    );
    expect((await from(proxied, '203.0.113.29').login({ username: alice, password })).status).toBe(
      200,
    );
    // Thirty failures from thirty IPs spend the name's allowance: then even the right password
    // waits, whatever the case of the name and the IP it comes from.
    for (let i = 3; i < NAME_FAILURES; i++) {
      const res = await from(proxied, `203.0.114.${i}`).login({
        username: alice,
        password: 'not it at all',
      });
      expect(res.status).toBe(401);
    }
    const locked = await from(proxied, '203.0.113.34').login({ username: alice, password });
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('rate_limited');
    const upper = await from(proxied, '203.0.113.35').login({
      username: alice.toUpperCase(),
      password,
    });
    expect(upper.status).toBe(429);
    // Another account from the very same IP is not affected.
    expect((await from(proxied, '203.0.113.34').login({ username: bob, password })).status).toBe(
      200,
    );

    // A name nobody has gets the same answers: the limit tells nothing of who exists.
    const ghost = uniqueName('ghost');
    const answers: number[] = [];
    for (let i = 0; i <= NAME_FAILURES; i++) {
      answers.push(
        (await from(proxied, `203.0.115.${i}`).login({ username: ghost, password: 'x1x2x3x4' }))
          .status,
      );
    }
    expect(answers).toEqual([...Array<number>(NAME_FAILURES).fill(401), 429]);
  });
});
