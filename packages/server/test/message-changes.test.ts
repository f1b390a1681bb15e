import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  ChangesPage,
  Chat,
  ErrorResponse,
  Message,
  MessageDeletedEvent,
  MessageEdits,
  MessagePage,
} from '@parley/protocol';
import {
  closeSockets,
  connect,
  createDirect,
  createGroup,
  emitAck,
  record,
  registerUsers,
  sendMessage,
  settle,
  type ClientSocket,
  type TestUser,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterEach(() => closeSockets());
afterAll(() => server.close());

const NOBODY = '9d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09';

const send = async (user: TestUser, chatId: string, content: string): Promise<Message> => {
  const res = await user.api.post<Message>(`/chats/${chatId}/messages`, { content });
  if (res.status !== 201) throw new Error(`send: ${res.status}`);
  return res.body;
};
const edit = (user: TestUser, chatId: string, messageId: string, content: unknown) =>
  user.api.patch<Message & ErrorResponse>(`/chats/${chatId}/messages/${messageId}`, { content });
const remove = (user: TestUser, chatId: string, messageId: string) =>
  user.api.delete<ErrorResponse | null>(`/chats/${chatId}/messages/${messageId}`);
const changes = (user: TestUser, chatId: string, query: string) =>
  user.api.get<ChangesPage & ErrorResponse>(`/chats/${chatId}/changes${query}`);
const edits = (user: TestUser, chatId: string, messageId: string) =>
  user.api.get<MessageEdits & ErrorResponse>(`/chats/${chatId}/messages/${messageId}/edits`);
const editEvent = (socket: ClientSocket, payload: unknown) =>
  emitAck<'message:edit', { message: Message }>(socket, 'message:edit', payload);
const deleteEvent = (socket: ClientSocket, payload: unknown) =>
  emitAck(socket, 'message:delete', payload);
const code = (ack: { ok: boolean; error?: { code: string } }) => (ack.ok ? 'ok' : ack.error?.code);

async function group(): Promise<{
  owner: TestUser;
  admin: TestUser;
  a: TestUser;
  b: TestUser;
  chat: Chat;
}> {
  const [owner, admin, a, b] = await registerUsers(server.url, 4);
  const chat = await createGroup(owner, [admin, a, b]);
  await owner.api.patch(`/chats/${chat.id}/participants/${admin.user.id}`, { role: 'admin' });
  return { owner, admin, a, b, chat };
}

describe('versions', () => {
  it('a chat and its messages carry the version: every send bumps it by one', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    expect(chat.version).toBe(0);
    const first = await send(alice, chat.id, 'one');
    const second = await send(bob, chat.id, 'two');
    expect([first.version, second.version]).toEqual([1, 2]);
    expect(first).toMatchObject({ reply_to: null, reactions: [], mentions: [], attachments: [] });
    const got = await alice.api.get<Chat>(`/chats/${chat.id}`);
    expect(got.body.version).toBe(2);
  });

  it('has no gap across a mix of sends, edits and deletes, and the chat holds the last', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const m1 = await send(alice, chat.id, 'one');
    const m2 = await send(bob, chat.id, 'two');
    const edited = await editEvent(a, { chatId: chat.id, messageId: m1.id, content: 'one!' });
    expect(edited.ok).toBe(true);
    // The same content again is no change: no version taken.
    expect((await edit(alice, chat.id, m1.id, 'one!')).body.version).toBe(3);
    expect((await remove(bob, chat.id, m2.id)).status).toBe(204);
    expect((await remove(bob, chat.id, m2.id)).status).toBe(204);
    const m3 = await send(alice, chat.id, 'three');
    expect(m3.version).toBe(5);
    const all = (await changes(alice, chat.id, '?since=0')).body;
    expect(all.messages.map((m) => [m.seq, m.version])).toEqual([
      [1, 3],
      [2, 4],
      [3, 5],
    ]);
    expect(all.version).toBe(5);
    expect((await alice.api.get<Chat>(`/chats/${chat.id}`)).body.version).toBe(5);
  });

  it('has no gap when sends, edits and deletes race on several connections', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const sent: Message[] = [];
    for (let i = 0; i < 10; i++) sent.push(await send(i % 2 ? bob : alice, chat.id, `m${i}`));
    const [a, b] = await Promise.all([
      connect(server.url, alice.token),
      connect(server.url, bob.token),
    ]);
    const ownerOf = (i: number) => (i % 2 ? b : a);
    const acks = await Promise.all([
      ...sent
        .slice(0, 5)
        .map((m, i) =>
          editEvent(ownerOf(i), { chatId: chat.id, messageId: m.id, content: `m${i}, edited` }),
        ),
      ...sent
        .slice(5)
        .map((m, i) => deleteEvent(ownerOf(i + 5), { chatId: chat.id, messageId: m.id })),
      ...[0, 1, 2, 3, 4].map((i) =>
        sendMessage(ownerOf(i), { chatId: chat.id, content: `new ${i}` }),
      ),
    ]);
    expect(acks.map(code)).toEqual(Array<string>(15).fill('ok'));
    const all = (await changes(alice, chat.id, '?since=0')).body;
    const versions = all.messages.map((m) => m.version);
    // 10 sends, then 15 changes: versions 11 to 25 each taken once, none skipped.
    expect(versions.filter((v) => v > 10)).toEqual(Array.from({ length: 15 }, (_, i) => 11 + i));
    expect(all.version).toBe(25);
    expect((await alice.api.get<Chat>(`/chats/${chat.id}`)).body.version).toBe(25);
  });
});

describe('message:edit and PATCH /api/chats/:chatId/messages/:messageId', () => {
  it('replaces the content, sets edited_at, keeps the history and tells the room', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const heard = record(b, 'message:updated');
    const m = await send(alice, chat.id, 'frist');
    const ack = await editEvent(a, { chatId: chat.id, messageId: m.id, content: 'first' });
    if (!ack.ok) throw new Error(ack.error.message);
    expect(ack.message).toMatchObject({ id: m.id, seq: 1, content: 'first', version: 2 });
    expect(ack.message.edited_at).not.toBeNull();
    const rest = await edit(alice, chat.id, m.id, 'first, really');
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ content: 'first, really', version: 3 });
    await settle(b);
    expect(heard.map((h) => h.content)).toEqual(['first', 'first, really']);
    expect(heard[1]).toEqual(rest.body);

    const history = await edits(bob, chat.id, m.id);
    expect(history.status).toBe(200);
    expect(history.body.edits.map((e) => e.content)).toEqual(['frist', 'first']);
    expect(history.body.edits[0]?.edited_at).toBe(ack.message.edited_at);
    expect(history.body.edits[1]?.edited_at).toBe(rest.body.edited_at);
  });

  it('the same content again: acked with the message, nothing stored or broadcast', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const heard = record(b, 'message:updated');
    const m = await send(alice, chat.id, 'same');
    const ack = await editEvent(a, { chatId: chat.id, messageId: m.id, content: 'same' });
    expect(ack).toEqual({ ok: true, message: m });
    await settle(b);
    expect(heard).toEqual([]);
    expect((await edits(alice, chat.id, m.id)).body.edits).toEqual([]);
  });

  it('answers each error code in the contract order', async () => {
    const { owner, a, b, chat } = await group();
    const [stranger] = await registerUsers(server.url, 1);
    const m = await send(a, chat.id, 'mine');
    const sa = await connect(server.url, a.token);
    const bad = (p: unknown) => editEvent(sa, p).then(code);

    expect(await bad({ chatId: chat.id, messageId: m.id, content: '   ' })).toBe(
      'validation_failed',
    );
    // Empty content is refused before anything is looked up, unless it may be empty there (a
    // message with attachments: uploads.test.ts).
    expect(await bad({ chatId: chat.id, messageId: NOBODY, content: '' })).toBe(
      'validation_failed',
    );
    expect((await edit(stranger, chat.id, m.id, '')).status).toBe(400);
    expect(await bad({ chatId: chat.id, messageId: 'nope', content: 'x' })).toBe(
      'validation_failed',
    );
    expect(await bad({ chatId: chat.id, messageId: m.id, content: 'x'.repeat(4001) })).toBe(
      'validation_failed',
    );
    expect((await edit(a, chat.id, m.id, 'a\u0000b')).status).toBe(400);
    expect(await bad({ chatId: NOBODY, messageId: m.id, content: 'x' })).toBe('not_found');
    expect(await bad({ chatId: chat.id, messageId: NOBODY, content: 'x' })).toBe('not_found');
    // A message of another chat is no message of this one.
    const other = await createDirect(a, b);
    const elsewhere = await send(a, other.id, 'elsewhere');
    expect(await bad({ chatId: chat.id, messageId: elsewhere.id, content: 'x' })).toBe('not_found');

    // Not a participant: 404 for what does not exist, then 403.
    expect((await edit(stranger, chat.id, NOBODY, 'x')).status).toBe(404);
    expect((await edit(stranger, chat.id, m.id, 'x')).status).toBe(403);
    // Someone else's message, even the group's owner: forbidden.
    expect((await edit(owner, chat.id, m.id, 'x')).body.error.code).toBe('forbidden');
    expect((await edit(b, chat.id, m.id, 'x')).status).toBe(403);

    expect((await remove(a, chat.id, m.id)).status).toBe(204);
    expect((await edit(a, chat.id, m.id, 'back')).status).toBe(409);
    expect(await bad({ chatId: chat.id, messageId: m.id, content: 'back' })).toBe('conflict');
    // Forbidden comes before conflict.
    expect((await edit(b, chat.id, m.id, 'x')).status).toBe(403);
  });

  it('refuses an edit past MESSAGE_EDIT_WINDOW (forbidden), allows one within it', async () => {
    // A window a loaded machine cannot overrun between a send and the edit that follows it
    // (one second once did, in CI); the late edit waits until the server's clock has passed it.
    const windowed = await startServer({ messageEditWindow: 4 });
    try {
      const [alice, bob] = await registerUsers(windowed.url, 2);
      const chat = await createDirect(alice, bob);
      const early = await send(alice, chat.id, 'early');
      expect((await edit(alice, chat.id, early.id, 'early, edited')).status).toBe(200);
      const closes = Date.parse(early.created_at) + 4_000;
      await new Promise((r) => setTimeout(r, Math.max(0, closes - Date.now()) + 500));
      const late = await edit(alice, chat.id, early.id, 'too late');
      expect(late.status).toBe(403);
      expect(late.body.error.code).toBe('forbidden');
      const fresh = await send(alice, chat.id, 'fresh');
      expect((await edit(alice, chat.id, fresh.id, 'fresh, edited')).status).toBe(200);
    } finally {
      closeSockets();
      await windowed.close();
    }
  });
});

describe('message:delete and DELETE /api/chats/:chatId/messages/:messageId', () => {
  it('leaves a tombstone in place and tells the room once', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const heard = record(b, 'message:deleted');
    const before = await send(alice, chat.id, 'before');
    const m = await send(alice, chat.id, 'secret');
    const after = await send(bob, chat.id, 'after');
    await edit(alice, chat.id, m.id, 'secret, edited');

    expect(await deleteEvent(a, { chatId: chat.id, messageId: m.id })).toEqual({ ok: true });
    expect(await deleteEvent(a, { chatId: chat.id, messageId: m.id })).toEqual({ ok: true });
    expect((await remove(alice, chat.id, m.id)).status).toBe(204);
    await settle(b);
    expect(heard).toEqual([
      {
        chatId: chat.id,
        messageId: m.id,
        seq: 2,
        version: 5,
        deletedAt: expect.stringMatching(/Z$/) as unknown,
      } satisfies Record<keyof MessageDeletedEvent, unknown>,
    ]);

    const page = await bob.api.get<MessagePage>(`/chats/${chat.id}/messages`);
    expect(page.body.messages.map((x) => x.id)).toEqual([before.id, m.id, after.id]);
    const tomb = page.body.messages[1];
    expect(tomb).toMatchObject({
      id: m.id,
      seq: 2,
      content: '',
      version: 5,
      deleted_at: heard[0]?.deletedAt,
      reactions: [],
      mentions: [],
      attachments: [],
    });
    expect((await edits(alice, chat.id, m.id)).body.edits).toEqual([]);
  });

  it('the sender, or an owner or admin of a group; a member or a direct chat partner may not', async () => {
    const { owner, admin, a, b, chat } = await group();
    const [stranger] = await registerUsers(server.url, 1);
    const byA = await Promise.all([1, 2, 3].map((i) => send(a, chat.id, `a${i}`)));
    const byOwner = await send(owner, chat.id, 'owner');

    expect((await remove(b, chat.id, byA[0]!.id)).status).toBe(403);
    expect((await remove(stranger, chat.id, byA[0]!.id)).status).toBe(403);
    expect((await remove(stranger, chat.id, NOBODY)).status).toBe(404);
    expect((await remove(a, NOBODY, byA[0]!.id)).status).toBe(404);
    expect((await remove(a, chat.id, 'not-a-uuid')).status).toBe(400);
    expect((await remove(a, chat.id, byA[0]!.id)).status).toBe(204);
    expect((await remove(admin, chat.id, byA[1]!.id)).status).toBe(204);
    expect((await remove(owner, chat.id, byA[2]!.id)).status).toBe(204);
    expect((await remove(admin, chat.id, byOwner.id)).status).toBe(204);

    const [x, y] = await registerUsers(server.url, 2);
    const direct = await createDirect(x, y);
    const fromX = await send(x, direct.id, 'mine');
    const sy = await connect(server.url, y.token);
    expect(code(await deleteEvent(sy, { chatId: direct.id, messageId: fromX.id }))).toBe(
      'forbidden',
    );
    expect(code(await deleteEvent(sy, { chatId: direct.id }))).toBe('validation_failed');
  });
});

describe('GET /api/chats/:chatId/changes', () => {
  it('answers 400 for a bad since or limit, 404 for no chat, 403 for a non-participant', async () => {
    const [alice, bob, carol] = await registerUsers(server.url, 3);
    const chat = await createDirect(alice, bob);
    for (const q of [
      '',
      '?since=-1',
      '?since=1.5',
      '?since=x',
      '?since=0&limit=0',
      '?since=0&limit=501',
    ]) {
      const res = await changes(alice, chat.id, q);
      expect([q, res.status, res.body.error.code]).toEqual([q, 400, 'validation_failed']);
    }
    expect((await changes(alice, NOBODY, '?since=0')).status).toBe(404);
    expect((await changes(carol, chat.id, '?since=0')).status).toBe(403);
    expect((await changes(alice, chat.id, '?since=0')).body).toEqual({
      messages: [],
      version: 0,
      has_more: false,
    });
    expect((await changes(alice, chat.id, '?since=99')).body.version).toBe(99);
  });

  it('pages in version order with has_more', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const sent: Message[] = [];
    for (const c of ['a', 'b', 'c', 'd', 'e']) sent.push(await send(alice, chat.id, c));
    await edit(alice, chat.id, sent[0]!.id, 'a2');
    const first = (await changes(bob, chat.id, '?since=1&limit=2')).body;
    expect(first.messages.map((m) => m.content)).toEqual(['b', 'c']);
    expect([first.version, first.has_more]).toEqual([3, true]);
    const next = (await changes(bob, chat.id, `?since=${first.version}&limit=10`)).body;
    expect(next.messages.map((m) => m.content)).toEqual(['d', 'e', 'a2']);
    expect([next.version, next.has_more]).toEqual([6, false]);
  });

  it('equals the state a live client built from events', async () => {
    const { owner, admin, a, chat } = await group();
    const live = await connect(server.url, owner.token);
    // What a client holds: messages by id, built from message:new, :updated, :deleted and
    // reaction:updated.
    const held = new Map<string, Message>();
    let version = chat.version;
    live.on('message:new', (m) => {
      held.set(m.id, m);
      version = Math.max(version, m.version);
    });
    live.on('message:updated', (m) => {
      held.set(m.id, m);
      version = Math.max(version, m.version);
    });
    live.on('message:deleted', (d) => {
      const m = held.get(d.messageId);
      if (m) {
        const tombstone = { content: '', deleted_at: d.deletedAt, version: d.version };
        held.set(m.id, { ...m, ...tombstone, reactions: [], mentions: [] });
      }
      version = Math.max(version, d.version);
    });
    live.on('reaction:updated', (e) => {
      const m = held.get(e.messageId);
      if (!m) return;
      const others = m.reactions.filter((r) => r.emoji !== e.emoji);
      const mine = m.reactions.find((r) => r.emoji === e.emoji);
      const userIds =
        e.op === 'add'
          ? [...(mine?.user_ids ?? []), e.userId]
          : (mine?.user_ids ?? []).filter((u) => u !== e.userId);
      const kept = { emoji: e.emoji, count: e.count, user_ids: userIds };
      // An emoji keeps its place; a new one goes last; one nobody keeps goes away.
      const reactions = mine
        ? m.reactions.flatMap((r) => (r.emoji !== e.emoji ? [r] : e.count > 0 ? [kept] : []))
        : [...others, kept];
      held.set(m.id, { ...m, reactions, version: e.version });
      version = Math.max(version, e.version);
    });
    const sa = await connect(server.url, a.token);

    const m1 = await send(a, chat.id, 'one');
    const m2 = (await sendMessage(sa, { chatId: chat.id, content: 'two' })) as {
      ok: true;
      message: Message;
    };
    const m3 = await send(admin, chat.id, 'three');
    await editEvent(sa, { chatId: chat.id, messageId: m1.id, content: 'one, edited' });
    await remove(admin, chat.id, m2.message.id);
    const m4 = await send(owner, chat.id, 'four');
    await edit(admin, chat.id, m3.id, 'three, edited');
    await edit(admin, chat.id, m3.id, 'three, edited twice');
    const sAdmin = await connect(server.url, admin.token);
    const reaction = (
      socket: ClientSocket,
      op: 'add' | 'remove',
      messageId: string,
      emoji: string,
    ) =>
      emitAck(socket, op === 'add' ? 'reaction:add' : 'reaction:remove', {
        chatId: chat.id,
        messageId,
        emoji,
      });
    await reaction(sa, 'add', m1.id, '👍');
    await reaction(sAdmin, 'add', m1.id, '👍');
    await reaction(sAdmin, 'add', m1.id, '🎉');
    await reaction(live, 'add', m4.id, '🎉');
    await reaction(sa, 'remove', m1.id, '👍');
    await remove(owner, chat.id, m4.id);
    await settle(live);

    const caughtUp = (await changes(owner, chat.id, `?since=${chat.version}`)).body;
    expect(caughtUp.version).toBe(version);
    expect(caughtUp.version).toBe(14);
    const byId = new Map(caughtUp.messages.map((m) => [m.id, m]));
    expect(byId).toEqual(held);
    expect(caughtUp.messages.map((m) => m.version)).toEqual([5, 8, 13, 14]);
    expect(byId.get(m1.id)?.reactions).toEqual([
      { emoji: '👍', count: 1, user_ids: [admin.user.id] },
      { emoji: '🎉', count: 1, user_ids: [admin.user.id] },
    ]);
  });
});

describe("one socket's changes", () => {
  it('are made in the order sent, as Socket.IO delivered them', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const m = await send(alice, chat.id, 'v0');
    const s = await connect(server.url, alice.token);
    const target = { chatId: chat.id, messageId: m.id };
    for (let round = 0; round < 20; round++) {
      // Emitted back to back, no ack awaited in between: a client that adds and removes ends with
      // nothing, and one that edits three times ends with the third.
      const acks = await Promise.all([
        emitAck(s, 'reaction:add', { ...target, emoji: '👍' }),
        emitAck(s, 'reaction:remove', { ...target, emoji: '👍' }),
        editEvent(s, { ...target, content: `v${round}.1` }),
        editEvent(s, { ...target, content: `v${round}.2` }),
        editEvent(s, { ...target, content: `v${round}.3` }),
      ]);
      expect(acks.map(code)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      const page = await alice.api.get<MessagePage>(`/chats/${chat.id}/messages`);
      const now = page.body.messages.find((x) => x.id === m.id);
      expect([now?.content, now?.reactions]).toEqual([`v${round}.3`, []]);
    }
  });

  it('spend an allowance of their own: RATE_LIMIT_MESSAGES counts sends alone', async () => {
    const limited = await startServer({ rateLimitMessages: 2 });
    try {
      const [alice, bob] = await registerUsers(limited.url, 2);
      const chat = await createDirect(alice, bob);
      const s = await connect(limited.url, alice.token);
      const first = await send(alice, chat.id, 'one');
      const react = (emoji: string) =>
        emitAck(s, 'reaction:add', { chatId: chat.id, messageId: first.id, emoji }).then(code);
      expect([await react('👍'), await react('🎉'), await react('🙂')]).toEqual([
        'ok',
        'ok',
        'rate_limited',
      ]);
      // The reactions spent none of the sends' allowance.
      expect(code(await sendMessage(s, { chatId: chat.id, content: 'two' }))).toBe('ok');
      expect(code(await sendMessage(s, { chatId: chat.id, content: 'three' }))).toBe(
        'rate_limited',
      );
    } finally {
      closeSockets();
      await limited.close();
    }
  });
});
