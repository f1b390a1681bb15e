import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  AuthResponse,
  ErrorResponse,
  MeResponse,
  MessagePage,
  TokenResponse,
  UserSearchResponse,
} from '@parley/protocol';
import {
  api,
  closeSockets,
  connect,
  connectRefused,
  createDirect,
  registerUser,
  sendMessage,
  settle,
  uniqueName,
  type ClientSocket,
  type TestUser,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

// Revocation: sign out, sign out everywhere, password change and account deletion end tokens
// on HTTP and the sockets opened with them.

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterEach(() => closeSockets());
afterAll(async () => {
  closeSockets();
  await server.close();
});

const PASSWORD = 'correct horse battery';

/** Resolves with the reason and the moment the server drops the socket; rejects after 5 s. */
function dropped(socket: ClientSocket): Promise<{ reason: string; at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the socket was not disconnected')), 5000);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve({ reason, at: Date.now() });
    });
  });
}

/** Another sign-in of the same account: a second, independent token. */
async function signInAgain(user: TestUser, password = PASSWORD): Promise<TestUser> {
  const res = await api(server.url).post<AuthResponse>('/auth/login', {
    username: user.user.username,
    password,
  });
  expect(res.status).toBe(200);
  return { ...res.body, api: api(server.url, res.body.token) };
}

async function expectRefused(token: string): Promise<void> {
  const res = await api(server.url, token).get<ErrorResponse>('/auth/me');
  expect(res.status).toBe(401);
  expect(res.body.error.code).toBe('unauthorized');
  const err = (await connectRefused(server.url, { token })) as Error & { data?: { code: string } };
  expect(err.data?.code).toBe('unauthorized');
}

describe('POST /api/auth/logout-all (sign out everywhere)', () => {
  it('ends every token of the user at once, on HTTP and on their open sockets', async () => {
    const alice = await registerUser(server.url, { password: PASSWORD });
    const laptop = await signInAgain(alice);
    const bob = await registerUser(server.url);
    const phoneSocket = await connect(server.url, alice.token);
    const laptopSocket = await connect(server.url, laptop.token);
    const bobSocket = await connect(server.url, bob.token);
    const phoneDropped = dropped(phoneSocket);
    const laptopDropped = dropped(laptopSocket);

    const res = await alice.api.post('/auth/logout-all');
    const answeredAt = Date.now();
    expect(res.status).toBe(204);
    for (const gone of await Promise.all([phoneDropped, laptopDropped])) {
      expect(gone.reason).toBe('io server disconnect');
      expect(gone.at - answeredAt).toBeLessThan(1000);
    }
    await expectRefused(alice.token);
    await expectRefused(laptop.token);

    // Others are untouched, and the user can sign in again.
    await settle(bobSocket);
    expect(bobSocket.connected).toBe(true);
    const again = await signInAgain(alice);
    expect((await again.api.get('/auth/me')).status).toBe(200);
    expect((await connect(server.url, again.token)).connected).toBe(true);
  });

  it('needs a valid token', async () => {
    const res = await api(server.url, 'not-a-token').post<ErrorResponse>('/auth/logout-all');
    expect(res.status).toBe(401);
  });
});

describe('POST /api/auth/logout (sign out this token)', () => {
  it('ends only this token and its sockets; the same account elsewhere stays signed in', async () => {
    const alice = await registerUser(server.url, { password: PASSWORD });
    const other = await signInAgain(alice);
    const mine = await connect(server.url, alice.token);
    const theirs = await connect(server.url, other.token);
    const mineDropped = dropped(mine);

    expect((await alice.api.post('/auth/logout')).status).toBe(204);
    expect((await mineDropped).reason).toBe('io server disconnect');
    await expectRefused(alice.token);

    expect((await other.api.get('/auth/me')).status).toBe(200);
    await settle(theirs);
    expect(theirs.connected).toBe(true);
    // Signing out twice is refused: the token no longer names anyone.
    expect((await alice.api.post('/auth/logout')).status).toBe(401);
  });

  it('clears revocations whose tokens have expired anyway', async () => {
    const alice = await registerUser(server.url);
    const db = server.app.database.db;
    const stale = randomUUID();
    await db
      .insertInto('revoked_tokens')
      .values({ jti: stale, user_id: alice.user.id, expires_at: new Date(Date.now() - 60_000) })
      .execute();
    expect((await alice.api.post('/auth/logout')).status).toBe(204);
    const left = await db
      .selectFrom('revoked_tokens')
      .select('jti')
      .where('user_id', '=', alice.user.id)
      .execute();
    // The stale row is gone; the one just signed out is kept.
    expect(left).toHaveLength(1);
    expect(left[0]?.jti).not.toBe(stale);
  });
});

describe('POST /api/auth/password', () => {
  it('answers a working token and ends every earlier one, with its sockets', async () => {
    const alice = await registerUser(server.url, { password: PASSWORD });
    const other = await signInAgain(alice);
    const sockets = [
      await connect(server.url, alice.token),
      await connect(server.url, other.token),
    ];
    const gone = sockets.map(dropped);

    const res = await alice.api.post<TokenResponse>('/auth/password', {
      currentPassword: PASSWORD,
      newPassword: 'a brand new passphrase',
    });
    expect(res.status).toBe(200);
    for (const g of await Promise.all(gone)) expect(g.reason).toBe('io server disconnect');
    await expectRefused(alice.token);
    await expectRefused(other.token);

    const fresh = api(server.url, res.body.token);
    expect((await fresh.get<MeResponse>('/auth/me')).body.user.id).toBe(alice.user.id);
    expect((await connect(server.url, res.body.token)).connected).toBe(true);

    const anon = api(server.url);
    const username = alice.user.username;
    expect((await anon.post('/auth/login', { username, password: PASSWORD })).status).toBe(401);
    const byNew = await anon.post('/auth/login', { username, password: 'a brand new passphrase' });
    expect(byNew.status).toBe(200);
  });

  it('refuses a wrong current password with 401 and changes nothing', async () => {
    const alice = await registerUser(server.url, { password: PASSWORD });
    const socket = await connect(server.url, alice.token);
    const res = await alice.api.post<ErrorResponse>('/auth/password', {
      currentPassword: 'not the password',
      newPassword: 'a brand new passphrase',
    });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
    expect((await alice.api.get('/auth/me')).status).toBe(200);
    await settle(socket);
    expect(socket.connected).toBe(true);
    await signInAgain(alice, PASSWORD);
  });

  it('refuses the right current password too after RATE_LIMIT_AUTH wrong ones in a minute', async () => {
    const limited = await startServer({ rateLimitAuth: 3 });
    try {
      const alice = await registerUser(limited.url, { password: PASSWORD });
      const change = (currentPassword: string) =>
        alice.api.post<ErrorResponse>('/auth/password', {
          currentPassword,
          newPassword: 'a brand new passphrase',
        });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await change('not the password')).status);
      const right = await change(PASSWORD);
      expect([...statuses, right.status]).toEqual([401, 401, 401, 429]);
      expect(right.body.error.code).toBe('rate_limited');
    } finally {
      await limited.close();
    }
  });

  it.each([
    ['a common password', 'iloveyou', /common/],
    ['the username', null, /username/],
    ['only spaces', ' '.repeat(8), /visible/],
    ['too short a one', 'short', /at least 8/],
  ])('refuses %s as the new password with 400 and keeps the old one', async (_n, pw, why) => {
    const alice = await registerUser(server.url, { password: PASSWORD });
    const res = await alice.api.post<ErrorResponse>('/auth/password', {
      currentPassword: PASSWORD,
      newPassword: pw ?? alice.user.username,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.message).toMatch(/^body\.newPassword: /);
    expect(res.body.error.message).toMatch(why);
    expect((await alice.api.get('/auth/me')).status).toBe(200);
    await signInAgain(alice, PASSWORD);
  });
});

describe('DELETE /api/auth/me (delete the account)', () => {
  it('needs the password', async () => {
    const alice = await registerUser(server.url, { password: PASSWORD });
    const res = await alice.api.request<ErrorResponse>('DELETE', '/auth/me', {
      password: 'not the password',
    });
    expect(res.status).toBe(401);
    expect((await alice.api.get('/auth/me')).status).toBe(200);
    const missing = await alice.api.request<ErrorResponse>('DELETE', '/auth/me');
    expect(missing.status).toBe(400);
  });

  it('ends every session, can never sign in again, and its messages keep their sender', async () => {
    const email = `${uniqueName('del')}@example.com`;
    const alice = await registerUser(server.url, { password: PASSWORD, email });
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const socket = await connect(server.url, alice.token);
    expect((await sendMessage(socket, { chatId: chat.id, content: 'bye all' })).ok).toBe(true);
    const gone = dropped(socket);

    const res = await alice.api.request('DELETE', '/auth/me', { password: PASSWORD });
    expect(res.status).toBe(204);
    expect((await gone).reason).toBe('io server disconnect');
    await expectRefused(alice.token);

    // Sign-in answers as for a name that never existed.
    const anon = api(server.url);
    const unknown = await anon.post('/auth/login', {
      username: uniqueName('never'),
      password: PASSWORD,
    });
    const byName = await anon.post('/auth/login', {
      username: alice.user.username,
      password: PASSWORD,
    });
    const byEmail = await anon.post('/auth/login', { email, password: PASSWORD });
    expect(byName).toEqual(unknown);
    expect(byEmail).toEqual(unknown);

    // The username stays taken (its messages show it); the email is free again.
    const sameName = await anon.post<ErrorResponse>('/auth/register', {
      username: alice.user.username,
      password: PASSWORD,
    });
    expect(sameName.status).toBe(409);
    const sameEmail = await anon.post('/auth/register', {
      username: uniqueName('reuse'),
      password: PASSWORD,
      email,
    });
    expect(sameEmail.status).toBe(201);

    const page = await bob.api.get<MessagePage>(`/chats/${chat.id}/messages`);
    expect(page.body.messages.map((m) => [m.content, m.sender.username])).toEqual([
      ['bye all', alice.user.username],
    ]);
    // Nobody finds a deleted account to start a new chat with.
    const found = await bob.api.get<UserSearchResponse>(
      `/users/search?q=${encodeURIComponent(alice.user.username)}`,
    );
    expect(found.body.users).toEqual([]);
    // Nor brings it into a group by its id.
    const group = await bob.api.post<ErrorResponse>('/chats', {
      type: 'group',
      name: 'after the deletion',
      participantIds: [alice.user.id],
    });
    expect(group.status).toBe(404);
  });
});

describe('PATCH /api/auth/me', () => {
  it('changes the display name; the next load shows it', async () => {
    const alice = await registerUser(server.url, { displayName: 'Alice' });
    const res = await alice.api.patch<MeResponse>('/auth/me', { displayName: 'Alice Liddell' });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: alice.user.id, display_name: 'Alice Liddell' });
    expect(res.body.user.email).toBe(alice.user.email);
    const me = await alice.api.get<MeResponse>('/auth/me');
    expect(me.body.user.display_name).toBe('Alice Liddell');
  });

  it.each([
    ['an empty name', ''],
    ['only a zero-width space', '\u200b'],
    ['only spaces and invisible fillers', ' \u3164\u2800\ufeff '],
    ['a right-to-left override', '\u202egnp.exe'],
    ['a name over 64 characters', 'x'.repeat(65)],
  ])('refuses %s with 400', async (_n, displayName) => {
    const alice = await registerUser(server.url, { displayName: 'Alice' });
    const res = await alice.api.patch<ErrorResponse>('/auth/me', { displayName });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect((await alice.api.get<MeResponse>('/auth/me')).body.user.display_name).toBe('Alice');
  });
});
