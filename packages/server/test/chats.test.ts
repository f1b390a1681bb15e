import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Chat, ChatListResponse, ErrorResponse, Message } from '@parley/protocol';
import { sql } from 'kysely';
import {
  api,
  closeSockets,
  connect,
  createDirect,
  createGroup,
  registerUser,
  registerUsers,
  record,
  sendMessage,
  settle,
  waitFor,
  type TestUser,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const NOBODY = '9d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09';
/** `n` fresh users (n ≤ 5), typed for destructuring. */
const users = (n: 1 | 2 | 3 | 4 | 5) => registerUsers(server.url, n);
const roleOf = (chat: Chat, user: TestUser) =>
  chat.participants.find((p) => p.id === user.user.id)?.role;

describe('POST /api/chats (direct)', () => {
  it('creates a direct chat with 201, then answers 200 with the same chat from either side', async () => {
    const [alice, bob] = await users(2);
    const first = await alice.api.post<Chat>('/chats', { type: 'direct', userId: bob.user.id });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      type: 'direct',
      name: null,
      created_by: alice.user.id,
      last_message: null,
      unread_count: 0,
    });
    expect(first.body.participants.map((p) => [p.id, p.role, p.last_read_seq]).sort()).toEqual(
      [
        [alice.user.id, 'member', 0],
        [bob.user.id, 'member', 0],
      ].sort(),
    );
    const again = await alice.api.post<Chat>('/chats', { type: 'direct', userId: bob.user.id });
    const reverse = await bob.api.post<Chat>('/chats', { type: 'direct', userId: alice.user.id });
    expect([again.status, reverse.status]).toEqual([200, 200]);
    expect(again.body.id).toBe(first.body.id);
    expect(reverse.body.id).toBe(first.body.id);
  });

  it('makes one chat when both sides start it at once', async () => {
    const [alice, bob] = await users(2);
    const [a, b] = await Promise.all([createDirect(alice, bob), createDirect(bob, alice)]);
    expect(a.id).toBe(b.id);
    expect((await alice.api.get<ChatListResponse>('/chats')).body.chats).toHaveLength(1);
  });

  it('refuses a chat with oneself (400), an unknown user (404) and a malformed id (400)', async () => {
    const [alice] = await users(1);
    const self = await alice.api.post<ErrorResponse>('/chats', {
      type: 'direct',
      userId: alice.user.id,
    });
    expect([self.status, self.body.error.code]).toEqual([400, 'validation_failed']);
    const unknown = await alice.api.post<ErrorResponse>('/chats', {
      type: 'direct',
      userId: NOBODY,
    });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'not_found']);
    const malformed = await alice.api.post<ErrorResponse>('/chats', {
      type: 'direct',
      userId: 'bob',
    });
    expect(malformed.status).toBe(400);
    const badType = await alice.api.post<ErrorResponse>('/chats', {
      type: 'channel',
      userId: NOBODY,
    });
    expect(badType.status).toBe(400);
  });
});

describe('POST /api/chats (group)', () => {
  it('makes the creator the owner whether or not participantIds names them', async () => {
    const [owner, a, b] = await users(3);
    const res = await owner.api.post<Chat>('/chats', {
      type: 'group',
      name: 'Team',
      participantIds: [a.user.id, b.user.id, owner.user.id, a.user.id],
    });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('Team');
    expect(res.body.participants).toHaveLength(3);
    expect(roleOf(res.body, owner)).toBe('owner');
    expect(roleOf(res.body, a)).toBe('member');
  });

  it('creates several groups of the same people at once, each with 201', async () => {
    const [owner, a, b] = await users(3);
    // Two tabs (or two people) creating groups together: the membership bumps of both lock the
    // same users, and once deadlocked one of them (PostgreSQL) answered 500.
    const made = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        (i % 2 ? owner : a).api.post<Chat>('/chats', {
          type: 'group',
          name: `Together ${i}`,
          participantIds: [owner.user.id, a.user.id, b.user.id],
        }),
      ),
    );
    expect(made.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const listed = (await b.api.get<ChatListResponse>('/chats')).body.chats.map((c) => c.name);
    expect(listed.sort()).toEqual(['Together 1', 'Together 2', 'Together 3', 'Together 4']);
  });

  it('validates the name (1 to 100 characters) and the ids (up to 256, existing)', async () => {
    const [owner, a] = await users(2);
    const post = (body: unknown) => owner.api.post<ErrorResponse>('/chats', body);
    expect((await post({ type: 'group', name: '', participantIds: [a.user.id] })).status).toBe(400);
    expect((await post({ type: 'group', name: 'x'.repeat(101), participantIds: [] })).status).toBe(
      400,
    );
    expect((await post({ type: 'group', name: '🙂'.repeat(100), participantIds: [] })).status).toBe(
      201,
    );
    expect(
      (await post({ type: 'group', name: 'g', participantIds: Array(257).fill(a.user.id) })).status,
    ).toBe(400);
    expect((await post({ type: 'group', name: 'g', participantIds: [NOBODY] })).status).toBe(404);
    expect((await post({ type: 'group', name: 'g' })).status).toBe(400);
  });
});

describe('GET /api/chats and /api/chats/:chatId', () => {
  it("lists the caller's chats, newest activity first, with last message and unread count", async () => {
    const [alice, bob, carol] = await users(3);
    const older = await createDirect(alice, bob);
    const newer = await createDirect(alice, carol);
    await bob.api.post(`/chats/${older.id}/messages`, { content: 'from bob' });
    await bob.api.post(`/chats/${older.id}/messages`, { content: 'again' });
    const list = await alice.api.get<ChatListResponse>('/chats');
    expect(list.status).toBe(200);
    expect(list.body.chats.map((c) => c.id)).toEqual([older.id, newer.id]);
    expect(list.body.chats[0]).toMatchObject({
      unread_count: 2,
      last_message: { content: 'again', seq: 2 },
    });
    expect(list.body.chats[1]).toMatchObject({ unread_count: 0, last_message: null });
    // The sender's own messages are never unread to them.
    const bobs = await bob.api.get<ChatListResponse>('/chats');
    expect(bobs.body.chats[0]?.unread_count).toBe(0);
    expect(bobs.body.chats[0]?.participants.find((p) => p.id === bob.user.id)?.last_read_seq).toBe(
      2,
    );
  });

  it('shows one chat to participants, 403 to others, 404 for an unknown id, 400 for a malformed one', async () => {
    const [alice, bob, eve] = await users(3);
    const chat = await createDirect(alice, bob);
    expect((await bob.api.get<Chat>(`/chats/${chat.id}`)).body.id).toBe(chat.id);
    const forbidden = await eve.api.get<ErrorResponse>(`/chats/${chat.id}`);
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'forbidden']);
    expect((await eve.api.get<ErrorResponse>(`/chats/${NOBODY}`)).status).toBe(404);
    expect((await eve.api.get<ErrorResponse>('/chats/123')).status).toBe(400);
    // However long: a malformed id is refused by the schema, never "no such route".
    const long = await eve.api.get<ErrorResponse>(`/chats/${'x'.repeat(300)}`);
    expect([long.status, long.body.error.code]).toEqual([400, 'validation_failed']);
  });
});

describe('GET /api/chats pages', () => {
  /** Every page from the first, following next_cursor; the ids in the order received. */
  async function walk(user: TestUser, limit?: number): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query = new URLSearchParams();
      if (limit !== undefined) query.set('limit', String(limit));
      if (cursor !== null) query.set('cursor', cursor);
      const res = await user.api.get<ChatListResponse>(`/chats?${query.toString()}`);
      expect(res.status).toBe(200);
      if (limit !== undefined) expect(res.body.chats.length).toBeLessThanOrEqual(limit);
      ids.push(...res.body.chats.map((c) => c.id));
      cursor = res.body.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 1000);
    return { ids, pages };
  }

  it('gives 100 chats a page by default and the rest on the next: all 150, newest first, once each', async () => {
    const [alice] = await users(1);
    const created: string[] = [];
    for (let i = 0; i < 150; i++) {
      created.push((await createGroup(alice, [], `g${i}`)).id);
    }
    const first = await alice.api.get<ChatListResponse>('/chats');
    expect(first.body.chats).toHaveLength(100);
    expect(typeof first.body.next_cursor).toBe('string');
    const second = await alice.api.get<ChatListResponse>(
      `/chats?cursor=${first.body.next_cursor ?? ''}`,
    );
    expect(second.body.chats).toHaveLength(50);
    expect(second.body.next_cursor).toBeNull();
    const newestFirst = [...created].reverse();
    expect([...first.body.chats, ...second.body.chats].map((c) => c.id)).toEqual(newestFirst);
    // Any page size walks the same list.
    expect(await walk(alice, 7)).toEqual({ ids: newestFirst, pages: 22 });
    expect((await walk(alice, 200)).pages).toBe(1);
  });

  it('pages exactly through chats whose activity differs by microseconds within one millisecond', async () => {
    const [alice] = await users(1);
    const groups = [];
    for (let i = 0; i < 4; i++) groups.push(await createGroup(alice, [], `same ms ${i}`));
    // PostgreSQL keeps microseconds; a cursor rounded to JS milliseconds would skip these.
    const { db } = server.app.database;
    for (const [i, g] of groups.entries()) {
      await db
        .updateTable('chats')
        .set({ updated_at: sql`${`2031-05-06T07:08:09.123${i}00Z`}::timestamptz` })
        .where('id', '=', g.id)
        .execute();
    }
    const expected = groups.map((g) => g.id).reverse();
    expect(await walk(alice, 1)).toEqual({ ids: expected, pages: 4 });
    expect((await walk(alice, 3)).ids).toEqual(expected);
  });

  it('refuses a malformed limit or cursor with 400, after 401 for no token', async () => {
    const [alice] = await users(1);
    await createGroup(alice, [], 'one');
    const cursorOf = (text: string) => Buffer.from(text).toString('base64url');
    const bad = [
      'limit=0',
      'limit=201',
      'limit=abc',
      'limit=1e2',
      'limit=%2B5',
      'limit=%205',
      'limit=',
      'limit=0x10',
      'cursor=',
      'cursor=%25%25',
      `cursor=${'a'.repeat(201)}`,
      `cursor=${cursorOf('garbage')}`,
      `cursor=${cursorOf(`2026-02-30T00:00:00.000000Z|${NOBODY}`)}`,
      // A calendar time for JavaScript, none for PostgreSQL (no year 0).
      `cursor=${cursorOf(`0000-01-01T00:00:00.000000Z|${NOBODY}`)}`,
      `cursor=${cursorOf(`2026-01-01T00:00:00.000Z|${NOBODY}`)}`,
      `cursor=${cursorOf('2026-01-01T00:00:00.000000Z|not-a-uuid')}`,
      `cursor=${cursorOf(`2026-01-01T00:00:00.000000Z|${NOBODY}|x`)}`,
    ];
    for (const query of bad) {
      const res = await alice.api.get<ErrorResponse>(`/chats?${query}`);
      expect([query, res.status, res.body.error.code]).toEqual([query, 400, 'validation_failed']);
    }
    const anonymous = await api(server.url).get<ErrorResponse>('/chats?limit=0');
    expect(anonymous.status).toBe(401);
    // A well-formed cursor past every chat is simply the end.
    const past = await alice.api.get<ChatListResponse>(
      `/chats?cursor=${cursorOf(`2000-01-01T00:00:00.000000Z|${NOBODY}`)}`,
    );
    expect(past.body).toEqual({ chats: [], next_cursor: null });
    expect((await alice.api.get<ChatListResponse>('/chats?limit=200')).body.chats).toHaveLength(1);
  });
});

describe('RATE_LIMIT_CHATS', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startServer({ rateLimitChats: 3 });
  });
  afterAll(() => limited.close());

  it('refuses a fourth chat in the hour with 429 and Retry-After; finding an existing direct chat spends nothing', async () => {
    const [alice, bob, carol, dave] = (await Promise.all(
      Array.from({ length: 4 }, () => registerUser(limited.url)),
    )) as [TestUser, TestUser, TestUser, TestUser];
    expect((await alice.api.post('/chats', { type: 'direct', userId: bob.user.id })).status).toBe(
      201,
    );
    expect(
      (await alice.api.post('/chats', { type: 'group', name: 'a', participantIds: [] })).status,
    ).toBe(201);
    // Found, not created, as often as asked: the allowance stays.
    for (let i = 0; i < 3; i++) {
      const again = await alice.api.post('/chats', { type: 'direct', userId: bob.user.id });
      expect(again.status).toBe(200);
    }
    expect(
      (await alice.api.post('/chats', { type: 'group', name: 'b', participantIds: [bob.user.id] }))
        .status,
    ).toBe(201);

    const refused = await fetch(`${limited.url}/api/chats`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'group', name: 'c', participantIds: [carol.user.id] }),
    });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as ErrorResponse).error.code).toBe('rate_limited');
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    const direct = await alice.api.post<ErrorResponse>('/chats', {
      type: 'direct',
      userId: dave.user.id,
    });
    expect([direct.status, direct.body.error.code]).toEqual([429, 'rate_limited']);

    // Nothing was made for the refused ones, and the existing chat is still found.
    expect((await alice.api.get<ChatListResponse>('/chats')).body.chats).toHaveLength(3);
    expect((await carol.api.get<ChatListResponse>('/chats')).body.chats).toHaveLength(0);
    expect((await alice.api.post('/chats', { type: 'direct', userId: bob.user.id })).status).toBe(
      200,
    );
    // The allowance is the creator's: others are untouched.
    expect((await carol.api.post('/chats', { type: 'direct', userId: alice.user.id })).status).toBe(
      201,
    );
  });

  it('spends of the allowance to bring back someone who left a direct chat, not to come back', async () => {
    const [alice, bob] = (await Promise.all(
      Array.from({ length: 2 }, () => registerUser(limited.url)),
    )) as [TestUser, TestUser];
    const chat = await alice.api.post<Chat>('/chats', { type: 'direct', userId: bob.user.id });
    const leave = (user: TestUser) =>
      user.api.delete(`/chats/${chat.body.id}/participants/${user.user.id}`);
    // Alice coming back herself, as often as she likes: nothing spent.
    for (let i = 0; i < 3; i++) {
      expect((await leave(alice)).status).toBe(204);
      expect((await alice.api.post('/chats', { type: 'direct', userId: bob.user.id })).status).toBe(
        200,
      );
    }
    // Pulling Bob back: two more (three in all with the creation), then refused.
    for (let i = 0; i < 2; i++) {
      expect((await leave(bob)).status).toBe(204);
      expect((await alice.api.post('/chats', { type: 'direct', userId: bob.user.id })).status).toBe(
        200,
      );
    }
    expect((await leave(bob)).status).toBe(204);
    const refused = await alice.api.post<ErrorResponse>('/chats', {
      type: 'direct',
      userId: bob.user.id,
    });
    expect([refused.status, refused.body.error.code]).toEqual([429, 'rate_limited']);
    expect((await bob.api.get(`/chats/${chat.body.id}`)).status).toBe(403);
  });
});

describe('managing a group', () => {
  it('lets an owner or admin add people; members get 403; a second add is 409', async () => {
    const [owner, admin, member, newcomer, another] = await users(5);
    const group = await createGroup(owner, [admin, member]);
    const promote = await owner.api.patch<Chat>(
      `/chats/${group.id}/participants/${admin.user.id}`,
      { role: 'admin' },
    );
    expect(promote.status).toBe(200);
    expect(roleOf(promote.body, admin)).toBe('admin');

    const byMember = await member.api.post<ErrorResponse>(`/chats/${group.id}/participants`, {
      userId: newcomer.user.id,
    });
    expect([byMember.status, byMember.body.error.code]).toEqual([403, 'forbidden']);
    const byAdmin = await admin.api.post<Chat>(`/chats/${group.id}/participants`, {
      userId: newcomer.user.id,
    });
    expect(byAdmin.status).toBe(201);
    expect(roleOf(byAdmin.body, newcomer)).toBe('member');
    const twice = await owner.api.post<ErrorResponse>(`/chats/${group.id}/participants`, {
      userId: newcomer.user.id,
    });
    expect([twice.status, twice.body.error.code]).toEqual([409, 'conflict']);
    const unknown = await owner.api.post<ErrorResponse>(`/chats/${group.id}/participants`, {
      userId: NOBODY,
    });
    expect(unknown.status).toBe(404);
    const outsider = await another.api.post<ErrorResponse>(`/chats/${group.id}/participants`, {
      userId: another.user.id,
    });
    expect(outsider.status).toBe(403);
  });

  it('shows a newcomer the whole history, from before they joined', async () => {
    const [owner, newcomer] = await users(2);
    const group = await createGroup(owner, []);
    await owner.api.post(`/chats/${group.id}/messages`, { content: 'before you came' });
    await owner.api.post(`/chats/${group.id}/participants`, { userId: newcomer.user.id });
    const history = await newcomer.api.get<{ messages: { content: string }[] }>(
      `/chats/${group.id}/messages`,
    );
    // ...and, after it, the group's own line about their arrival.
    expect(history.body.messages.map((m) => m.content)).toEqual([
      'before you came',
      `${owner.user.display_name} added ${newcomer.user.display_name}`,
    ]);
  });

  it('refuses membership changes on a direct chat with 400', async () => {
    const [alice, bob, carol] = await users(3);
    const chat = await createDirect(alice, bob);
    expect(
      (await alice.api.post(`/chats/${chat.id}/participants`, { userId: carol.user.id })).status,
    ).toBe(400);
    expect((await alice.api.patch(`/chats/${chat.id}`, { name: 'x' })).status).toBe(400);
    expect(
      (await alice.api.patch(`/chats/${chat.id}/participants/${bob.user.id}`, { role: 'admin' }))
        .status,
    ).toBe(400);
    expect((await alice.api.delete(`/chats/${chat.id}/participants/${bob.user.id}`)).status).toBe(
      400,
    );
  });

  it('renames a group (owner or admin only)', async () => {
    const [owner, member] = await users(2);
    const group = await createGroup(owner, [member], 'Old');
    expect((await member.api.patch(`/chats/${group.id}`, { name: 'Mine' })).status).toBe(403);
    const renamed = await owner.api.patch<Chat>(`/chats/${group.id}`, { name: 'New name' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('New name');
    expect((await owner.api.patch(`/chats/${group.id}`, { name: '' })).status).toBe(400);
  });

  it('changes roles: the owner only, never their own, and 404 for a non-participant', async () => {
    const [owner, admin, member, outsider] = await users(4);
    const group = await createGroup(owner, [admin, member]);
    await owner.api.patch(`/chats/${group.id}/participants/${admin.user.id}`, { role: 'admin' });
    expect(
      (
        await admin.api.patch(`/chats/${group.id}/participants/${member.user.id}`, {
          role: 'admin',
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await owner.api.patch(`/chats/${group.id}/participants/${owner.user.id}`, {
          role: 'member',
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await owner.api.patch(`/chats/${group.id}/participants/${outsider.user.id}`, {
          role: 'admin',
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await owner.api.patch(`/chats/${group.id}/participants/${member.user.id}`, {
          role: 'owner',
        })
      ).status,
    ).toBe(400);
    const demoted = await owner.api.patch<Chat>(
      `/chats/${group.id}/participants/${admin.user.id}`,
      { role: 'member' },
    );
    expect(roleOf(demoted.body, admin)).toBe('member');
  });

  it('removes people (owner/admin) and lets anyone leave; members cannot remove others', async () => {
    const [owner, member, other] = await users(3);
    const group = await createGroup(owner, [member, other]);
    expect(
      (await member.api.delete(`/chats/${group.id}/participants/${other.user.id}`)).status,
    ).toBe(403);
    expect(
      (await owner.api.delete(`/chats/${group.id}/participants/${other.user.id}`)).status,
    ).toBe(204);
    expect((await other.api.get(`/chats/${group.id}`)).status).toBe(403);
    expect(
      (await member.api.delete(`/chats/${group.id}/participants/${member.user.id}`)).status,
    ).toBe(204);
    const left = await owner.api.get<Chat>(`/chats/${group.id}`);
    expect(left.body.participants.map((p) => p.id)).toEqual([owner.user.id]);
    expect(
      (await owner.api.delete(`/chats/${group.id}/participants/${member.user.id}`)).status,
    ).toBe(404);
  });

  it('hands the group to the longest-standing admin when the owner leaves, else the longest-standing member', async () => {
    const [owner, first, second, admin] = await users(4);
    const group = await createGroup(owner, [first]);
    await owner.api.post(`/chats/${group.id}/participants`, { userId: second.user.id });
    await owner.api.post(`/chats/${group.id}/participants`, { userId: admin.user.id });
    await owner.api.patch(`/chats/${group.id}/participants/${admin.user.id}`, { role: 'admin' });

    expect(
      (await owner.api.delete(`/chats/${group.id}/participants/${owner.user.id}`)).status,
    ).toBe(204);
    const afterOwner = await first.api.get<Chat>(`/chats/${group.id}`);
    expect(roleOf(afterOwner.body, admin)).toBe('owner');

    expect(
      (await admin.api.delete(`/chats/${group.id}/participants/${admin.user.id}`)).status,
    ).toBe(204);
    const afterAdmin = await first.api.get<Chat>(`/chats/${group.id}`);
    expect(roleOf(afterAdmin.body, first)).toBe('owner');
    expect(roleOf(afterAdmin.body, second)).toBe('member');
  });

  it("answers in the contract's order: 404 for an unknown target before 403 for a stranger", async () => {
    const [owner, member, stranger] = await users(3);
    const group = await createGroup(owner, [member]);
    const add = await stranger.api.post<ErrorResponse>(`/chats/${group.id}/participants`, {
      userId: NOBODY,
    });
    expect(add.status).toBe(404);
    const remove = await stranger.api.delete(`/chats/${group.id}/participants/${NOBODY}`);
    expect(remove.status).toBe(404);
    const role = await member.api.patch(`/chats/${group.id}/participants/${NOBODY}`, {
      role: 'admin',
    });
    expect(role.status).toBe(404);
    const ownerRole = await member.api.patch(`/chats/${group.id}/participants/${owner.user.id}`, {
      role: 'member',
    });
    expect(ownerRole.status).toBe(400);
    const cursor = await stranger.api.get(`/chats/${group.id}/messages?after=${NOBODY}`);
    expect(cursor.status).toBe(404);
    // The same calls on a real target: the stranger is refused.
    const realAdd = await stranger.api.post(`/chats/${group.id}/participants`, {
      userId: stranger.user.id,
    });
    expect(realAdd.status).toBe(403);
  });
});

describe('leaving a direct chat', () => {
  afterEach(closeSockets);
  const leave = (user: TestUser, chat: Chat) =>
    user.api.delete(`/chats/${chat.id}/participants/${user.user.id}`);
  const openDirect = (user: TestUser, other: TestUser) =>
    user.api.post<Chat>('/chats', { type: 'direct', userId: other.user.id });
  const contents = async (user: TestUser, chat: Chat) =>
    (await user.api.get<{ messages: Message[] }>(`/chats/${chat.id}/messages`)).body.messages.map(
      (m) => m.content,
    );
  const ids = (chat: Chat) => chat.participants.map((p) => p.id).sort();

  it('lets either person leave (204); the one who stays keeps the chat and may write on', async () => {
    const [alice, bob] = await users(2);
    const chat = await createDirect(alice, bob);
    const aliceSocket = await connect(server.url, alice.token);
    const bobSocket = await connect(server.url, bob.token);
    await sendMessage(aliceSocket, { chatId: chat.id, content: 'before' });
    const removed = waitFor(aliceSocket, 'chat:removed');
    const updated = waitFor(bobSocket, 'chat:updated');
    expect((await leave(alice, chat)).status).toBe(204);
    expect(await removed).toEqual({ chatId: chat.id });
    expect(ids(await updated)).toEqual([bob.user.id]);

    // She is out: no chat for her, no message of it on her socket.
    expect((await alice.api.get(`/chats/${chat.id}`)).status).toBe(403);
    const heard = record(aliceSocket, 'message:new');
    expect((await sendMessage(bobSocket, { chatId: chat.id, content: 'still there?' })).ok).toBe(
      true,
    );
    await settle(aliceSocket);
    expect(heard).toEqual([]);
    expect(await contents(bob, chat)).toEqual([
      'before',
      `${alice.user.display_name} left`,
      'still there?',
    ]);
    // Removing the other person is still no thing a direct chat has.
    expect((await bob.api.delete(`/chats/${chat.id}/participants/${alice.user.id}`)).status).toBe(
      400,
    );
  });

  it('brings back whoever left when either opens it again; what they missed is unread', async () => {
    const [alice, bob] = await users(2);
    const chat = await createDirect(alice, bob);
    await alice.api.post(`/chats/${chat.id}/messages`, { content: 'hi' });
    await bob.api.post(`/chats/${chat.id}/messages`, { content: 'before she left' });
    expect((await leave(alice, chat)).status).toBe(204);
    const [line] = (
      await bob.api.get<{ messages: Message[] }>(`/chats/${chat.id}/messages`)
    ).body.messages.slice(-1);
    await bob.api.post(`/chats/${chat.id}/messages`, { content: 'come back' });

    const aliceSocket = await connect(server.url, alice.token);
    const bobSocket = await connect(server.url, bob.token);
    const back = waitFor(aliceSocket, 'chat:new');
    const updated = waitFor(bobSocket, 'chat:updated');
    const reopened = await openDirect(bob, alice);
    expect(reopened.status).toBe(200);
    expect(reopened.body.id).toBe(chat.id);
    expect(ids(reopened.body)).toEqual([alice.user.id, bob.user.id].sort());
    const announced = await back;
    expect(announced.id).toBe(chat.id);
    // Her mark is at the line that says she left: what bob wrote after it is unread.
    const mark = announced.participants.find((p) => p.id === alice.user.id);
    expect(line?.content).toBe(`${alice.user.display_name} left`);
    expect([mark?.last_read_seq, mark?.last_read_at]).toEqual([line?.seq, line?.created_at]);
    expect(announced.unread_count).toBe(1);
    expect(ids(await updated)).toEqual([alice.user.id, bob.user.id].sort());

    // Her socket is in the room again.
    const next = waitFor(aliceSocket, 'message:new');
    await sendMessage(bobSocket, { chatId: chat.id, content: 'welcome back' });
    expect((await next).content).toBe('welcome back');
    expect(await contents(alice, chat)).toEqual([
      'hi',
      'before she left',
      `${alice.user.display_name} left`,
      'come back',
      'welcome back',
    ]);

    // Opening it with both inside announces nothing.
    const again = record(bobSocket, 'chat:updated');
    expect((await openDirect(alice, bob)).status).toBe(200);
    await settle(bobSocket);
    expect(again).toEqual([]);
  });

  it('lets a blocker leave and stay out: the blocked one cannot open it again (403)', async () => {
    const [alice, bob] = await users(2);
    const chat = await createDirect(alice, bob);
    expect((await alice.api.request('PUT', `/users/${bob.user.id}/block`)).status).toBe(204);
    expect((await leave(alice, chat)).status).toBe(204);
    expect((await openDirect(bob, alice)).status).toBe(403);
    expect((await alice.api.get(`/chats/${chat.id}`)).status).toBe(403);
    // Nor can he write in it while she is away: the block holds in the chat, not in her seat.
    const send = await bob.api.post<ErrorResponse>(`/chats/${chat.id}/messages`, {
      content: 'you cannot hide',
    });
    expect([send.status, send.body.error.code]).toEqual([403, 'forbidden']);
    // She may come back herself, to nothing new.
    const back = await openDirect(alice, bob);
    expect(back.status).toBe(200);
    expect(ids(back.body)).toEqual([alice.user.id, bob.user.id].sort());
    expect(back.body.unread_count).toBe(0);
    expect(await contents(alice, chat)).toEqual([`${alice.user.display_name} left`]);
  });

  it('brings both back when both left and one opens it', async () => {
    const [alice, bob] = await users(2);
    const chat = await createDirect(alice, bob);
    expect((await leave(alice, chat)).status).toBe(204);
    expect((await leave(bob, chat)).status).toBe(204);
    const back = await openDirect(bob, alice);
    expect([back.status, back.body.id]).toEqual([200, chat.id]);
    expect(ids(back.body)).toEqual([alice.user.id, bob.user.id].sort());
  });
});
