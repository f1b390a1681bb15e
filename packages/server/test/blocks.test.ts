import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BlockedUsersResponse, Chat, ChatListResponse, ErrorResponse } from '@parley/protocol';
import {
  api,
  closeSockets,
  connect,
  createDirect,
  createGroup,
  emitAck,
  record,
  registerUsers,
  settle,
  type TestUser,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
afterEach(() => closeSockets());

const NOBODY = '0b7e6d5c-4a3b-4c2d-9e1f-a0b1c2d3e4f5';
const users = (n: 2 | 3 | 4) => registerUsers(server.url, n);

const block = (blocker: TestUser, user: TestUser | string) =>
  blocker.api.request<ErrorResponse | null>(
    'PUT',
    `/users/${typeof user === 'string' ? user : user.user.id}/block`,
  );
const unblock = (blocker: TestUser, user: TestUser | string) =>
  blocker.api.delete<ErrorResponse | null>(
    `/users/${typeof user === 'string' ? user : user.user.id}/block`,
  );
const blockedIds = async (user: TestUser) => {
  const res = await user.api.get<BlockedUsersResponse>('/users/blocked');
  expect(res.status).toBe(200);
  return res.body.users.map((u) => u.id);
};
const chatCount = async (user: TestUser) =>
  (await user.api.get<ChatListResponse>('/chats')).body.chats.length;
const codeOf = (res: { status: number; body: unknown }) => [
  res.status,
  (res.body as ErrorResponse | null)?.error.code,
];

describe('PUT / DELETE /api/users/:userId/block, GET /api/users/blocked', () => {
  it('blocks and unblocks idempotently, and lists the blocked, most recent first', async () => {
    const [alice, bob, carol] = await users(3);
    expect((await block(alice, bob)).status).toBe(204);
    expect((await block(alice, bob)).status).toBe(204);
    expect((await block(alice, carol)).status).toBe(204);
    expect(await blockedIds(alice)).toEqual([carol.user.id, bob.user.id]);
    // Each caller has a list of their own.
    expect(await blockedIds(bob)).toEqual([]);

    expect((await unblock(alice, bob)).status).toBe(204);
    expect((await unblock(alice, bob)).status).toBe(204);
    expect(await blockedIds(alice)).toEqual([carol.user.id]);
  });

  it('leaves a deleted account out of the list', async () => {
    const [alice, bob, carol] = await users(3);
    await block(alice, bob);
    await block(alice, carol);
    const gone = await bob.api.request('DELETE', '/auth/me', { password: 'correct horse battery' });
    expect(gone.status).toBe(204);
    expect(await blockedIds(alice)).toEqual([carol.user.id]);
  });

  it('refuses oneself (400), a malformed id (400), nobody (404), and no token (401)', async () => {
    const [alice] = await users(2);
    expect(codeOf(await block(alice, alice))).toEqual([400, 'validation_failed']);
    expect(codeOf(await unblock(alice, alice))).toEqual([400, 'validation_failed']);
    expect(codeOf(await block(alice, 'not-a-uuid'))).toEqual([400, 'validation_failed']);
    expect(codeOf(await block(alice, NOBODY))).toEqual([404, 'not_found']);
    expect(codeOf(await unblock(alice, NOBODY))).toEqual([404, 'not_found']);
    const anonymous = api(server.url);
    expect(codeOf(await anonymous.request('PUT', `/users/${NOBODY}/block`))).toEqual([
      401,
      'unauthorized',
    ]);
    expect(codeOf(await anonymous.get('/users/blocked'))).toEqual([401, 'unauthorized']);
  });

  it('shows presence in the blocked list only for someone who still shares a chat', async () => {
    const [alice, contact, stranger] = await users(3);
    await createDirect(contact, alice);
    await Promise.all([connect(server.url, contact.token), connect(server.url, stranger.token)]);
    await block(alice, contact);
    await block(alice, stranger);
    const res = await alice.api.get<BlockedUsersResponse>('/users/blocked');
    const statuses = Object.fromEntries(res.body.users.map((u) => [u.id, u.status]));
    expect(statuses).toEqual({ [contact.user.id]: 'online', [stranger.user.id]: null });
  });
});

describe('what a blocked user can no longer do', () => {
  it('cannot open a direct chat with the blocker (403), new or existing; the chat that exists stays', async () => {
    const [alice, bob, carol] = await users(3);
    const existing = await createDirect(carol, alice);
    await block(alice, bob);
    await block(alice, carol);

    const fresh = await bob.api.post<ErrorResponse>('/chats', {
      type: 'direct',
      userId: alice.user.id,
    });
    expect(codeOf(fresh)).toEqual([403, 'forbidden']);
    expect(await chatCount(bob)).toBe(0);
    expect(await chatCount(alice)).toBe(1);

    const again = await carol.api.post('/chats', { type: 'direct', userId: alice.user.id });
    expect(codeOf(again)).toEqual([403, 'forbidden']);
    expect((await carol.api.get<Chat>(`/chats/${existing.id}`)).status).toBe(200);

    // The contract's order: an unknown user is 404 before any block is looked at.
    expect(codeOf(await bob.api.post('/chats', { type: 'direct', userId: NOBODY }))).toEqual([
      404,
      'not_found',
    ]);
    // The blocker chose to: they may still start it.
    expect((await alice.api.post('/chats', { type: 'direct', userId: bob.user.id })).status).toBe(
      201,
    );
  });

  it('cannot put the blocker into a group, at creation or later (403), and the blocker hears nothing', async () => {
    const [alice, bob, carol] = await users(3);
    const aliceSocket = await connect(server.url, alice.token);
    const announced = record(aliceSocket, 'chat:new');
    await block(alice, bob);

    const create = await bob.api.post('/chats', {
      type: 'group',
      name: 'Trap',
      participantIds: [carol.user.id, alice.user.id],
    });
    expect(codeOf(create)).toEqual([403, 'forbidden']);
    expect([await chatCount(bob), await chatCount(carol)]).toEqual([0, 0]);

    const group = await createGroup(bob, [carol], 'Later');
    const add = await bob.api.post(`/chats/${group.id}/participants`, { userId: alice.user.id });
    expect(codeOf(add)).toEqual([403, 'forbidden']);
    // Unknown target: 404 first. Someone else (not blocked) can still add alice.
    const unknown = await bob.api.post(`/chats/${group.id}/participants`, { userId: NOBODY });
    expect(codeOf(unknown)).toEqual([404, 'not_found']);

    await settle(aliceSocket);
    expect(announced).toEqual([]);
    expect(await chatCount(alice)).toBe(0);
  });

  it('is refused (403) before "already a participant" (409); the blocker can still leave', async () => {
    const [alice, bob, carol] = await users(3);
    const group = await createGroup(carol, [alice, bob], 'Shared');
    await carol.api.patch(`/chats/${group.id}/participants/${bob.user.id}`, { role: 'admin' });
    await block(alice, bob);
    const add = await bob.api.post(`/chats/${group.id}/participants`, { userId: alice.user.id });
    expect(codeOf(add)).toEqual([403, 'forbidden']);
    expect(
      (await alice.api.delete(`/chats/${group.id}/participants/${alice.user.id}`)).status,
    ).toBe(204);
    // Others can still bring people in.
    const [dave] = await users(2);
    expect(
      (await bob.api.post(`/chats/${group.id}/participants`, { userId: dave.user.id })).status,
    ).toBe(201);
  });

  it("stops the blocked user's messages in the direct chat they share (403), not in groups", async () => {
    const [alice, bob, carol] = await users(3);
    const direct = await createDirect(bob, alice);
    const group = await createGroup(carol, [alice, bob], 'Still together');
    const aliceSocket = await connect(server.url, alice.token);
    const heard = record(aliceSocket, 'message:new');
    await block(alice, bob);

    const refused = await bob.api.post<ErrorResponse>(`/chats/${direct.id}/messages`, {
      content: 'can you hear me?',
    });
    expect(codeOf(refused)).toEqual([403, 'forbidden']);
    expect(refused.body).toMatchObject({
      error: { message: 'this person does not accept messages from you' },
    });
    // Groups are shared with others: a block does not silence someone there.
    const inGroup = await bob.api.post(`/chats/${group.id}/messages`, { content: 'hello all' });
    expect(inGroup.status).toBe(201);
    // The blocker may still write to the one they blocked.
    expect(
      (await alice.api.post(`/chats/${direct.id}/messages`, { content: 'goodbye' })).status,
    ).toBe(201);
    await settle(aliceSocket);
    expect(heard.map((m) => m.content).sort()).toEqual(['goodbye', 'hello all']);
    const history = await alice.api.get<{ messages: { content: string }[] }>(
      `/chats/${direct.id}/messages`,
    );
    expect(history.body.messages.map((m) => m.content)).toEqual(['goodbye']);

    await unblock(alice, bob);
    expect(
      (await bob.api.post(`/chats/${direct.id}/messages`, { content: 'back again' })).status,
    ).toBe(201);
  });

  it("keeps the blocked user's typing and read receipts in their direct chat from the blocker", async () => {
    const [alice, bob, carol] = await users(3);
    const direct = await createDirect(bob, alice);
    const group = await createGroup(carol, [alice, bob], 'Typing together');
    const [aliceSocket, bobSocket] = await Promise.all([
      connect(server.url, alice.token),
      connect(server.url, bob.token),
    ]);
    const sent = await alice.api.post<{ id: string }>(`/chats/${direct.id}/messages`, {
      content: 'before the block',
    });
    const inGroup = await carol.api.post<{ id: string }>(`/chats/${group.id}/messages`, {
      content: 'group news',
    });
    await block(alice, bob);
    const typing = record(aliceSocket, 'typing:start');
    const reads = record(aliceSocket, 'message:read');

    for (const chatId of [direct.id, group.id]) {
      expect((await emitAck(bobSocket, 'typing:start', { chatId })).ok).toBe(true);
    }
    const readDirect = { chatId: direct.id, messageId: sent.body.id };
    const readGroup = { chatId: group.id, messageId: inGroup.body.id };
    expect((await emitAck(bobSocket, 'message:read', readDirect)).ok).toBe(true);
    expect((await emitAck(bobSocket, 'message:read', readGroup)).ok).toBe(true);
    // With three nodes the group's events cross Redis: wait until they are heard (a round trip
    // on Alice's socket alone does not wait for another node's broadcast), then settle.
    for (let i = 0; i < 50 && (typing.length === 0 || reads.length === 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await settle(aliceSocket);
    // Only the group's are heard.
    expect(typing.map((t) => t.chatId)).toEqual([group.id]);
    expect(reads.map((r) => r.chatId)).toEqual([group.id]);
  });

  it('can do all of it again once unblocked', async () => {
    const [alice, bob] = await users(2);
    await block(alice, bob);
    await unblock(alice, bob);
    expect((await bob.api.post('/chats', { type: 'direct', userId: alice.user.id })).status).toBe(
      201,
    );
    const group = await createGroup(bob, [alice], 'Friends again');
    expect(group.participants.map((p) => p.id)).toContain(alice.user.id);
  });
});
