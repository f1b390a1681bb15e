import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChangesPage, Chat, ErrorResponse, Message, MessagePage } from '@parley/protocol';
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
  waitFor,
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

const send = async (
  user: TestUser,
  chatId: string,
  content: string,
  extra: Record<string, unknown> = {},
): Promise<Message> => {
  const res = await user.api.post<Message>(`/chats/${chatId}/messages`, { content, ...extra });
  if (res.status !== 201) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};
const reactionPath = (chatId: string, messageId: string, emoji: string) =>
  `/chats/${chatId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;
const put = (user: TestUser, chatId: string, messageId: string, emoji: string) =>
  user.api.request<ErrorResponse | null>('PUT', reactionPath(chatId, messageId, emoji));
const unput = (user: TestUser, chatId: string, messageId: string, emoji: string) =>
  user.api.delete<ErrorResponse | null>(reactionPath(chatId, messageId, emoji));
const react = (socket: ClientSocket, op: 'add' | 'remove', payload: unknown) =>
  emitAck(socket, op === 'add' ? 'reaction:add' : 'reaction:remove', payload);
const code = (ack: { ok: boolean; error?: { code: string } }) => (ack.ok ? 'ok' : ack.error?.code);
const latest = async (user: TestUser, chatId: string): Promise<Message[]> =>
  (await user.api.get<MessagePage>(`/chats/${chatId}/messages`)).body.messages;
const chatOf = async (user: TestUser, chatId: string): Promise<Chat> =>
  (await user.api.get<Chat>(`/chats/${chatId}`)).body;

describe('reactions', () => {
  it('counts users per emoji in first-added order, tells the room, and keeps a kept emoji in place', async () => {
    const [alice, bob, carol] = await registerUsers(server.url, 3);
    const chat = await createGroup(alice, [bob, carol]);
    const m = await send(alice, chat.id, 'react to me');
    const [a, c] = await Promise.all([
      connect(server.url, alice.token),
      connect(server.url, carol.token),
    ]);
    const heard = record(c, 'reaction:updated');

    expect(code(await react(a, 'add', { chatId: chat.id, messageId: m.id, emoji: '👍' }))).toBe(
      'ok',
    );
    expect((await put(bob, chat.id, m.id, '❤️')).status).toBe(204);
    expect((await put(bob, chat.id, m.id, '👍')).status).toBe(204);
    // ❤ without U+FE0F is another emoji.
    expect((await put(carol, chat.id, m.id, '❤')).status).toBe(204);
    // Alice takes hers back: 👍 keeps its place while Bob keeps it.
    expect((await unput(alice, chat.id, m.id, '👍')).status).toBe(204);
    await settle(c);

    const [held] = (await latest(carol, chat.id)).filter((x) => x.id === m.id);
    expect(held?.reactions).toEqual([
      { emoji: '👍', count: 1, user_ids: [bob.user.id] },
      { emoji: '❤️', count: 1, user_ids: [bob.user.id] },
      { emoji: '❤', count: 1, user_ids: [carol.user.id] },
    ]);
    expect(heard.map((e) => [e.emoji, e.userId, e.op, e.count])).toEqual([
      ['👍', alice.user.id, 'add', 1],
      ['❤️', bob.user.id, 'add', 1],
      ['👍', bob.user.id, 'add', 2],
      ['❤', carol.user.id, 'add', 1],
      ['👍', alice.user.id, 'remove', 1],
    ]);
    // Each reaction took the next version, and the message carries the last.
    expect(heard.map((e) => e.version)).toEqual([2, 3, 4, 5, 6]);
    expect(held?.version).toBe(6);
    expect((await chatOf(alice, chat.id)).version).toBe(6);

    // Removed by everyone and added again: it goes last.
    await unput(bob, chat.id, m.id, '👍');
    await put(alice, chat.id, m.id, '👍');
    const [after] = (await latest(alice, chat.id)).filter((x) => x.id === m.id);
    expect(after?.reactions.map((r) => r.emoji)).toEqual(['❤️', '❤', '👍']);
  });

  it('adding twice or removing what is not there answers ok, broadcasts nothing and takes no version', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const m = await send(alice, chat.id, 'hi');
    const b = await connect(server.url, bob.token);
    const heard = record(b, 'reaction:updated');
    const a = await connect(server.url, alice.token);
    const payload = { chatId: chat.id, messageId: m.id, emoji: '🎉' };
    expect(code(await react(a, 'add', payload))).toBe('ok');
    expect(code(await react(a, 'add', payload))).toBe('ok');
    expect(code(await react(a, 'remove', { ...payload, emoji: '🔥' }))).toBe('ok');
    expect((await put(alice, chat.id, m.id, '🎉')).status).toBe(204);
    await settle(b);
    expect(heard).toHaveLength(1);
    expect((await chatOf(bob, chat.id)).version).toBe(2);
  });

  it('counts racing reactions right: two users at once count 2, one user twice at once counts 1, no version gap', async () => {
    const [alice, bob, carol] = await registerUsers(server.url, 3);
    const chat = await createGroup(alice, [bob, carol]);
    const m = await send(alice, chat.id, 'race');
    const sockets = await Promise.all([
      connect(server.url, bob.token),
      connect(server.url, carol.token),
      connect(server.url, carol.token),
      connect(server.url, alice.token),
    ]);
    const watcher = sockets[3];
    if (!watcher) throw new Error('no socket');
    const heard = record(watcher, 'reaction:updated');
    const payload = { chatId: chat.id, messageId: m.id, emoji: '🚀' };
    const acks = await Promise.all(sockets.slice(0, 3).map((s) => react(s, 'add', payload)));
    expect(acks.map(code)).toEqual(['ok', 'ok', 'ok']);
    await settle(watcher);
    const [held] = (await latest(alice, chat.id)).filter((x) => x.id === m.id);
    expect(held?.reactions[0]?.count).toBe(2);
    expect(new Set(held?.reactions[0]?.user_ids)).toEqual(new Set([bob.user.id, carol.user.id]));
    expect(heard.map((e) => e.count).sort()).toEqual([1, 2]);
    expect(heard.map((e) => e.version).sort()).toEqual([2, 3]);
    expect((await chatOf(alice, chat.id)).version).toBe(3);
  });

  it('holds at most 20 different emoji on a message (conflict beyond); more users on one still count', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const m = await send(alice, chat.id, 'many');
    const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙🥲😚🙂'];
    expect(emoji).toHaveLength(20);
    for (const e of emoji) expect((await put(alice, chat.id, m.id, e)).status).toBe(204);
    const refused = await put(alice, chat.id, m.id, '🤗');
    expect(refused.status).toBe(409);
    expect((refused.body as ErrorResponse).error.code).toBe('conflict');
    // Another user on an emoji already there is no new emoji.
    expect((await put(bob, chat.id, m.id, '😀')).status).toBe(204);
    const [held] = (await latest(bob, chat.id)).filter((x) => x.id === m.id);
    expect(held?.reactions).toHaveLength(20);
    expect(held?.reactions[0]).toMatchObject({ emoji: '😀', count: 2 });
  });

  it('accepts one emoji of any kind (keycaps, flags, ZWJ sequences, skin tones) and refuses anything else', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const m = await send(alice, chat.id, 'kinds');
    for (const e of ['1️⃣', '#️⃣', '*⃣', '🇯🇵', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '👩‍👩‍👧‍👦', '👍🏽', '🏻', '❤', '©️']) {
      expect([e, (await put(alice, chat.id, m.id, e)).status]).toEqual([e, 204]);
    }
    const notEmoji = ['a', '1', '👍👍', '👍 ', 'hello', '', '\u200d', '😀'.repeat(17)];
    for (const e of [
      ...notEmoji,
      'a\u20e3',
      '\u20e3',
      'x\u20e3\u20e3',
      '1\u20e3\u20e3',
      '👍\u20e3',
    ]) {
      const res = await put(alice, chat.id, m.id, e);
      // An empty segment routes to no reaction at all.
      expect([e, res.status]).toEqual([e, e === '' ? 404 : 400]);
    }
  });

  it('answers each error code in the contract order', async () => {
    const [alice, bob, eve] = await registerUsers(server.url, 3);
    const chat = await createDirect(alice, bob);
    const m = await send(alice, chat.id, 'x');
    const e = await connect(server.url, eve.token);
    const a = await connect(server.url, alice.token);
    const cases: [ClientSocket, unknown, string][] = [
      [a, { chatId: chat.id, messageId: m.id }, 'validation_failed'],
      [a, { chatId: 'nope', messageId: m.id, emoji: '👍' }, 'validation_failed'],
      [a, { chatId: chat.id, messageId: m.id, emoji: 'x' }, 'validation_failed'],
      [a, { chatId: NOBODY, messageId: m.id, emoji: '👍' }, 'not_found'],
      [a, { chatId: chat.id, messageId: NOBODY, emoji: '👍' }, 'not_found'],
      [e, { chatId: chat.id, messageId: NOBODY, emoji: '👍' }, 'not_found'],
      [e, { chatId: chat.id, messageId: m.id, emoji: '👍' }, 'forbidden'],
    ];
    for (const [socket, payload, expected] of cases) {
      expect([payload, code(await react(socket, 'add', payload))]).toEqual([payload, expected]);
    }
    expect((await put(eve, chat.id, m.id, '👍')).status).toBe(403);
    expect((await put(alice, NOBODY, m.id, '👍')).status).toBe(404);
    // A deleted message takes no reaction (conflict), and deleting one drops its reactions.
    await put(bob, chat.id, m.id, '👍');
    await alice.api.delete(`/chats/${chat.id}/messages/${m.id}`);
    expect(code(await react(a, 'add', { chatId: chat.id, messageId: m.id, emoji: '👍' }))).toBe(
      'conflict',
    );
    const [tomb] = await latest(alice, chat.id);
    expect(tomb).toMatchObject({ content: '', reactions: [], mentions: [] });
  });

  it('changes?since brings reactions to a client that was away', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const m1 = await send(alice, chat.id, 'one');
    await send(bob, chat.id, 'two');
    const since = (await chatOf(bob, chat.id)).version;
    await put(alice, chat.id, m1.id, '👀');
    const page = (await bob.api.get<ChangesPage>(`/chats/${chat.id}/changes?since=${since}`)).body;
    expect(page.messages.map((m) => [m.id, m.reactions])).toEqual([
      [m1.id, [{ emoji: '👀', count: 1, user_ids: [alice.user.id] }]],
    ]);
    expect(page.version).toBe(since + 1);
  });
});

describe('replies', () => {
  it('answers a message of the same chat with a preview of its first 200 characters', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createDirect(alice, bob);
    const long = `${'é'.repeat(150)}${'ж'.repeat(100)}`;
    const original = await send(alice, chat.id, long);
    const b = await connect(server.url, bob.token);
    const a = await connect(server.url, alice.token);
    const heard = waitFor(a, 'message:new', (msg) => msg.sender_id === bob.user.id);
    const ack = await sendMessage(b, { chatId: chat.id, content: 'yes', replyToId: original.id });
    if (!ack.ok) throw new Error(ack.error.code);
    const preview = {
      id: original.id,
      seq: original.seq,
      sender_id: alice.user.id,
      content: long.slice(0, 200),
      deleted: false,
    };
    expect(ack.message.reply_to).toEqual(preview);
    expect((await heard).reply_to).toEqual(preview);
    const [, reply] = await latest(alice, chat.id);
    expect(reply?.reply_to).toEqual(preview);

    // The answered message's edit and delete show in the preview, without a change to the reply.
    await alice.api.patch(`/chats/${chat.id}/messages/${original.id}`, { content: 'changed' });
    expect((await latest(bob, chat.id))[1]?.reply_to?.content).toBe('changed');
    await alice.api.delete(`/chats/${chat.id}/messages/${original.id}`);
    const [, afterDelete] = await latest(bob, chat.id);
    expect(afterDelete?.reply_to).toMatchObject({ content: '', deleted: true });
    expect(afterDelete?.version).toBe(ack.message.version);

    // A deleted reply is a tombstone that still says what it answered.
    await bob.api.delete(`/chats/${chat.id}/messages/${ack.message.id}`);
    const [, tombstone] = await latest(alice, chat.id);
    expect(tombstone).toMatchObject({ content: '', reply_to: { id: original.id, deleted: true } });
  });

  it('refuses a replyToId of another chat or of nothing (not_found), and stores nothing', async () => {
    const [alice, bob, carol] = await registerUsers(server.url, 3);
    const chat = await createDirect(alice, bob);
    const other = await createDirect(alice, carol);
    const elsewhere = await send(alice, other.id, 'elsewhere');
    const a = await connect(server.url, alice.token);
    for (const replyToId of [elsewhere.id, NOBODY]) {
      expect(code(await sendMessage(a, { chatId: chat.id, content: 'x', replyToId }))).toBe(
        'not_found',
      );
    }
    expect(code(await sendMessage(a, { chatId: chat.id, content: 'x', replyToId: 'x' }))).toBe(
      'validation_failed',
    );
    // Not a participant comes after not_found; nothing stored, no seq taken.
    const c = await connect(server.url, carol.token);
    expect(code(await sendMessage(c, { chatId: chat.id, content: 'x', replyToId: NOBODY }))).toBe(
      'not_found',
    );
    const first = await send(bob, chat.id, 'first');
    expect(code(await sendMessage(c, { chatId: chat.id, content: 'x', replyToId: first.id }))).toBe(
      'forbidden',
    );
    expect(first.seq).toBe(1);
    expect((await send(alice, chat.id, 'second', { replyToId: first.id })).seq).toBe(2);
  });
});

describe('mentions', () => {
  it("names participants by @username (any case, not the sender, not outsiders) and counts each one's unread mentions", async () => {
    const [alice, bob, carol, dave] = await registerUsers(server.url, 4);
    const chat = await createGroup(alice, [bob, carol]);
    const content =
      `hi @${bob.user.username.toUpperCase()}, @${carol.user.username}. and ` +
      `@${dave.user.username} @${alice.user.username} mail${'@'}${bob.user.username} @@${carol.user.username}-`;
    const m = await send(alice, chat.id, content);
    expect(m.mentions).toEqual([bob.user.id, carol.user.id]);
    await send(alice, chat.id, `again @${bob.user.username}`);
    await send(bob, chat.id, `@${alice.user.username} thanks`);

    const seen = await chatOf(alice, chat.id);
    const unread = Object.fromEntries(seen.participants.map((p) => [p.id, p.unread_mentions]));
    // Bob's send moved his mark past both mentions of him; Bob's mention of Alice is above hers.
    expect(unread).toEqual({ [alice.user.id]: 1, [bob.user.id]: 0, [carol.user.id]: 1 });
    const listed = await alice.api.get<{ chats: Chat[] }>('/chats');
    const mine = listed.body.chats[0]?.participants.find((p) => p.id === alice.user.id);
    expect(mine?.unread_mentions).toBe(1);
    // Reading moves the mark: the mentions above it are read.
    const c = await connect(server.url, carol.token);
    await emitAck(c, 'message:read', { chatId: chat.id, messageId: m.id });
    const after = await chatOf(alice, chat.id);
    expect(after.participants.find((p) => p.id === carol.user.id)?.unread_mentions).toBe(0);
  });

  it('an edit reads mentions again; a delete drops them', async () => {
    const [alice, bob, carol] = await registerUsers(server.url, 3);
    const chat = await createGroup(alice, [bob, carol]);
    const m = await send(alice, chat.id, `@${bob.user.username} look`);
    const edited = await alice.api.patch<Message>(`/chats/${chat.id}/messages/${m.id}`, {
      content: `@${carol.user.username} look`,
    });
    expect(edited.body.mentions).toEqual([carol.user.id]);
    const unread = (await chatOf(alice, chat.id)).participants;
    expect(unread.find((p) => p.id === bob.user.id)?.unread_mentions).toBe(0);
    expect(unread.find((p) => p.id === carol.user.id)?.unread_mentions).toBe(1);
    await alice.api.delete(`/chats/${chat.id}/messages/${m.id}`);
    const gone = (await chatOf(alice, chat.id)).participants;
    expect(gone.find((p) => p.id === carol.user.id)?.unread_mentions).toBe(0);
  });
});

describe('settings', () => {
  it("mutes a chat for the caller alone, tells the caller's other tabs, and checks the caller's place", async () => {
    const [alice, bob, eve] = await registerUsers(server.url, 3);
    const chat = await createDirect(alice, bob);
    expect(chat.muted).toBe(false);
    const [a2, b] = await Promise.all([
      connect(server.url, alice.token),
      connect(server.url, bob.token),
    ]);
    const bobHeard = record(b, 'chat:updated');
    const tab = waitFor(a2, 'chat:updated', (c) => c.id === chat.id);
    const res = await alice.api.patch<Chat>(`/chats/${chat.id}/settings`, { muted: true });
    expect(res.status).toBe(200);
    expect(res.body.muted).toBe(true);
    expect((await tab).muted).toBe(true);
    expect((await chatOf(alice, chat.id)).muted).toBe(true);
    expect((await chatOf(bob, chat.id)).muted).toBe(false);
    const listed = await alice.api.get<{ chats: Chat[] }>('/chats');
    expect(listed.body.chats.find((c) => c.id === chat.id)?.muted).toBe(true);
    await settle(b);
    expect(bobHeard).toHaveLength(0);

    expect((await alice.api.patch(`/chats/${chat.id}/settings`, { muted: 'yes' })).status).toBe(
      400,
    );
    expect((await alice.api.patch(`/chats/${chat.id}/settings`, {})).status).toBe(400);
    expect((await alice.api.patch(`/chats/${NOBODY}/settings`, { muted: true })).status).toBe(404);
    expect((await eve.api.patch(`/chats/${chat.id}/settings`, { muted: true })).status).toBe(403);
    await alice.api.patch(`/chats/${chat.id}/settings`, { muted: false });
    expect((await chatOf(alice, chat.id)).muted).toBe(false);
  });
});
