import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorResponse, Me, User, UserSearchResponse } from '@parley/protocol';
import {
  closeSockets,
  connect,
  createDirect,
  createGroup,
  registerUser,
  uniqueName,
  type TestUser,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let me: TestUser;
const tag = uniqueName('s').replace(/_/g, '').slice(0, 8).toLowerCase();

beforeAll(async () => {
  server = await startServer();
  me = await registerUser(server.url, { username: `${tag}me` });
  await registerUser(server.url, { username: `${tag}Alpha`, displayName: 'Zed Alpha' });
  await registerUser(server.url, { username: `${tag}beta` });
  await registerUser(server.url, {
    username: `zz${tag}`,
    displayName: `${tag.toUpperCase()} display`,
  });
  await registerUser(server.url, { username: `${tag}_under` });
  await registerUser(server.url, { username: `${tag}xunder` });
  await registerUser(server.url, { username: `${tag}wb`, displayName: `Alice ${tag}Brown` });
  await registerUser(server.url, { username: `${tag}brooke`, displayName: 'Brooke Lee' });
  await registerUser(server.url, { username: `${tag}ist`, displayName: 'İstanbul Kızıl' });
});
afterAll(() => server.close());
afterEach(() => closeSockets());

const search = async (q: string) => {
  const res = await me.api.get<UserSearchResponse>(`/users/search?q=${encodeURIComponent(q)}`);
  expect(res.status).toBe(200);
  return res.body.users.map((u) => u.username).sort();
};

describe('GET /api/users/search', () => {
  it('finds users whose username or display name starts with the prefix, any case, caller excluded', async () => {
    expect(await search(tag.toUpperCase())).toEqual(
      [
        `${tag}Alpha`,
        `${tag}beta`,
        `zz${tag}`,
        `${tag}_under`,
        `${tag}xunder`,
        `${tag}wb`,
        `${tag}brooke`,
        `${tag}ist`,
      ].sort(),
    );
  });

  it('folds the prefix as it folds the names ("İstanbul" as typed finds İstanbul)', async () => {
    for (const q of ['İstanbul', 'İST', 'istanbul', 'ISTANBUL']) {
      expect(await search(q)).toEqual([`${tag}ist`]);
    }
  });

  it('treats % and _ as themselves', async () => {
    expect(await search(`${tag}_`)).toEqual([`${tag}_under`]);
    expect(await search(`${tag}%`)).toEqual([]);
  });

  it('matches prefixes only, not infixes', async () => {
    expect(await search('under')).toEqual([]);
    expect(await search(`${tag.slice(1)}`)).toEqual([]);
  });

  it('finds a word of the display name ("Brown" finds Alice Brown), name starts first', async () => {
    expect(await search(`${tag}brown`)).toEqual([`${tag}wb`]);
    expect(await search('zed')).toEqual([`${tag}Alpha`]);
    expect(await search('ALPHA')).toEqual([`${tag}Alpha`]);
    const res = await me.api.get<UserSearchResponse>(`/users/search?q=${tag}b`);
    // Username or whole-name starts first, then word starts.
    expect(res.body.users.map((u) => u.username)).toEqual([
      `${tag}beta`,
      `${tag}brooke`,
      `${tag}wb`,
    ]);
  });

  it('returns public user objects: no email, no password hash', async () => {
    const res = await me.api.get<UserSearchResponse>(`/users/search?q=${tag}a`);
    expect(res.body.users[0]).toEqual({
      id: expect.any(String),
      username: `${tag}Alpha`,
      display_name: 'Zed Alpha',
      avatar_url: null,
      // A stranger: no presence.
      status: null,
      last_seen_at: null,
      created_at: expect.any(String),
    });
  });

  it('returns at most 20 users', async () => {
    const prefix = `${tag}many`;
    for (let i = 0; i < 22; i++) await registerUser(server.url, { username: `${prefix}${i}` });
    const res = await me.api.get<UserSearchResponse>(`/users/search?q=${prefix}`);
    expect(res.body.users).toHaveLength(20);
  });

  it.each([[''], ['x'.repeat(33)]])('refuses q=%j with 400', async (q) => {
    const res = await me.api.get<ErrorResponse>(`/users/search?q=${q}`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
  });

  it('refuses a missing q with 400', async () => {
    expect((await me.api.get('/users/search')).status).toBe(400);
  });
});

describe('GET /api/users/:userId', () => {
  it('returns the user without email', async () => {
    const other = await registerUser(server.url, { email: `${uniqueName()}@example.com` });
    const res = await me.api.get<User>(`/users/${other.user.id}`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(other.user.id);
    expect(res.body).not.toHaveProperty('email');
  });

  it('returns the caller themself with their email, as /api/auth/me does', async () => {
    const self = await registerUser(server.url, { email: `${uniqueName()}@example.com` });
    const res = await self.api.get<Me>(`/users/${self.user.id}`);
    expect(res.status).toBe(200);
    expect(res.body.email).toBe(self.user.email);
    expect(res.body).toEqual((await self.api.get<{ user: Me }>('/auth/me')).body.user);
  });

  it('answers 404 for a well-formed id of nobody and 400 for a malformed one', async () => {
    const missing = await me.api.get<ErrorResponse>('/users/3f1c9a4e-8b2d-4f6a-9c7e-1d2b3c4d5e6f');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const malformed = await me.api.get<ErrorResponse>('/users/not-a-uuid');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('validation_failed');
  });
});

describe('presence is for contacts only', () => {
  const viaSearch = async (viewer: TestUser, user: TestUser) => {
    const res = await viewer.api.get<UserSearchResponse>(`/users/search?q=${user.user.username}`);
    const found = res.body.users.find((u) => u.id === user.user.id);
    return found && { status: found.status, last_seen_at: found.last_seen_at };
  };
  const viaGet = async (viewer: TestUser, user: TestUser) => {
    const res = await viewer.api.get<User>(`/users/${user.user.id}`);
    expect(res.status).toBe(200);
    return { status: res.body.status, last_seen_at: res.body.last_seen_at };
  };

  it('hides status and last seen from someone who shares no chat, and shows them once one is shared', async () => {
    const viewer = await registerUser(server.url);
    const target = await registerUser(server.url);
    const hidden = { status: null, last_seen_at: null };

    // Online now, and seen before: a stranger learns neither.
    const socket = await connect(server.url, target.token);
    expect(await viaSearch(viewer, target)).toEqual(hidden);
    expect(await viaGet(viewer, target)).toEqual(hidden);
    socket.disconnect();
    // Offline, and last seen, once the presence grace (1 s) has passed.
    await expect
      .poll(async () => (await viaGet(target, target)).last_seen_at, { timeout: 5000 })
      .not.toBeNull();
    expect(await viaGet(viewer, target)).toEqual(hidden);

    // The user themself sees their own.
    expect((await viaGet(target, target)).status).toBe('offline');

    // A shared group makes them contacts: both ways.
    await createGroup(viewer, [target]);
    const seen = { status: 'offline', last_seen_at: expect.any(String) };
    expect(await viaSearch(viewer, target)).toEqual(seen);
    expect(await viaGet(viewer, target)).toEqual(seen);
    await connect(server.url, target.token);
    expect(await viaGet(viewer, target)).toEqual({ ...seen, status: 'online' });
  });

  it('tells contacts from strangers in one search', async () => {
    const viewer = await registerUser(server.url);
    const prefix = uniqueName('mix').replace(/_/g, '').slice(0, 12).toLowerCase();
    const friend = await registerUser(server.url, { username: `${prefix}friend` });
    const stranger = await registerUser(server.url, { username: `${prefix}stranger` });
    await createDirect(viewer, friend);
    await Promise.all([connect(server.url, friend.token), connect(server.url, stranger.token)]);
    const res = await viewer.api.get<UserSearchResponse>(`/users/search?q=${prefix}`);
    const statuses = Object.fromEntries(res.body.users.map((u) => [u.username, u.status]));
    expect(statuses).toEqual({ [`${prefix}friend`]: 'online', [`${prefix}stranger`]: null });
  });
});
