import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Chat, ChatListResponse, ErrorResponse, Message, MessagePage } from '@parley/protocol';
import {
  closeSockets,
  connect,
  createDirect,
  createGroup,
  record,
  registerUser,
  registerUsers,
  sendMessage,
  settle,
  type TestUser,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterEach(() => closeSockets());
afterAll(() => server.close());

const pair = async (): Promise<[TestUser, TestUser, Chat]> => {
  const alice = await registerUser(server.url);
  const bob = await registerUser(server.url);
  return [alice, bob, await createDirect(alice, bob)];
};
const history = async (user: TestUser, chatId: string, query = '') =>
  user.api.get<MessagePage>(`/chats/${chatId}/messages${query}`);

/** Every message of a chat: the newest page, then back with `before` until has_more is false. */
async function everything(user: TestUser, chatId: string): Promise<Message[]> {
  let page = (await history(user, chatId, '?limit=2')).body;
  const all = [...page.messages];
  while (page.has_more && all[0]) {
    page = (await history(user, chatId, `?limit=2&before=${all[0].id}`)).body;
    all.unshift(...page.messages);
  }
  return all;
}

describe('POST /api/chats/:chatId/messages', () => {
  it('stores the message (201) and delivers message:new to the room, sender included', async () => {
    const [alice, bob, chat] = await pair();
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const seenA = record(a, 'message:new');
    const seenB = record(b, 'message:new');
    const res = await alice.api.post<Message>(`/chats/${chat.id}/messages`, {
      content: '  hello\nworld  ',
      clientMessageId: 'rest-1',
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      chat_id: chat.id,
      seq: 1,
      sender_id: alice.user.id,
      sender: {
        id: alice.user.id,
        username: alice.user.username,
        display_name: alice.user.display_name,
        avatar_url: null,
      },
      content: '  hello\nworld  ',
      message_type: 'text',
      client_message_id: 'rest-1',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      edited_at: null,
      deleted_at: null,
      version: 1,
      reply_to: null,
      reactions: [],
      mentions: [],
      attachments: [],
    });
    await settle(a, b);
    expect(seenA).toEqual([res.body]);
    expect(seenB).toEqual([res.body]);
  });

  it('answers a repeated clientMessageId with 200 and the first message, storing and broadcasting nothing', async () => {
    const [alice, bob, chat] = await pair();
    const b = await connect(server.url, bob.token);
    const seen = record(b, 'message:new');
    const first = await alice.api.post<Message>(`/chats/${chat.id}/messages`, {
      content: 'once',
      clientMessageId: 'dup',
    });
    const again = await alice.api.post<Message>(`/chats/${chat.id}/messages`, {
      content: 'changed',
      clientMessageId: 'dup',
    });
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.body).toEqual(first.body);
    await settle(b);
    expect(seen).toHaveLength(1);
    expect((await history(bob, chat.id)).body.messages.map((m) => m.content)).toEqual(['once']);
    // Another sender, or another chat, may use the same clientMessageId.
    expect(
      (
        await bob.api.post(`/chats/${chat.id}/messages`, {
          content: 'mine',
          clientMessageId: 'dup',
        })
      ).status,
    ).toBe(201);
  });

  it.each([
    ['empty content', { content: '' }],
    ['whitespace only', { content: ' \n\t ' }],
    ['4001 characters', { content: 'x'.repeat(4001) }],
    ['U+0000', { content: 'a\u0000b' }],
    ['a number', { content: 5 }],
    ['no content', {}],
    ['a system message', { content: 'hi', messageType: 'system' }],
    ['an unknown type', { content: 'hi', messageType: 'video' }],
    ['an empty clientMessageId', { content: 'hi', clientMessageId: '' }],
    ['a 65-character clientMessageId', { content: 'hi', clientMessageId: 'c'.repeat(65) }],
  ])('refuses %s with 400 and stores nothing', async (_name, body) => {
    const [alice, , chat] = await pair();
    const res = await alice.api.post<ErrorResponse>(`/chats/${chat.id}/messages`, body);
    expect([res.status, res.body.error.code]).toEqual([400, 'validation_failed']);
    expect((await history(alice, chat.id)).body.messages).toEqual([]);
  });

  it('accepts exactly 4000 characters counted in code points, and ignores surrounding whitespace', async () => {
    const [alice, , chat] = await pair();
    const emoji = '😀'.repeat(4000);
    expect((await alice.api.post(`/chats/${chat.id}/messages`, { content: emoji })).status).toBe(
      201,
    );
    const padded = `   ${'y'.repeat(4000)}   `;
    const res = await alice.api.post<Message>(`/chats/${chat.id}/messages`, { content: padded });
    expect(res.status).toBe(201);
    expect(res.body.content).toBe(padded);
  });

  it('refuses a non-participant with 403 and an unknown chat with 404', async () => {
    const [, , chat] = await pair();
    const eve = await registerUser(server.url);
    const res = await eve.api.post<ErrorResponse>(`/chats/${chat.id}/messages`, {
      content: 'let me in',
    });
    expect([res.status, res.body.error.code]).toEqual([403, 'forbidden']);
    const unknown = await eve.api.post<ErrorResponse>(
      '/chats/6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d/messages',
      { content: 'x' },
    );
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'not_found']);
  });
});

describe('seq', () => {
  it("numbers a chat's messages 1, 2, 3... with no gaps, across senders and failed sends", async () => {
    const [alice, bob, chat] = await pair();
    const a = await connect(server.url, alice.token);
    await sendMessage(a, { chatId: chat.id, content: 'one', clientMessageId: 'k1' });
    await bob.api.post(`/chats/${chat.id}/messages`, { content: 'two' });
    await sendMessage(a, { chatId: chat.id, content: 'dup', clientMessageId: 'k1' });
    await sendMessage(a, { chatId: chat.id, content: '' });
    await sendMessage(a, { chatId: chat.id, content: 'three' });
    const msgs = (await history(alice, chat.id)).body.messages;
    expect(msgs.map((m) => [m.seq, m.content])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
    ]);
  });

  it('stores racing copies of one clientMessageId once, acks each with the first, and leaves no gap', async () => {
    const [alice, bob, chat] = await pair();
    const tabs = await Promise.all([1, 2, 3].map(() => connect(server.url, alice.token)));
    const b = await connect(server.url, bob.token);
    const seenByBob = record(b, 'message:new');
    for (let round = 0; round < 5; round++) {
      const id = `race-${round}`;
      const results = await Promise.all([
        ...tabs.flatMap((t) => [
          sendMessage(t, { chatId: chat.id, content: `copy ${round}`, clientMessageId: id }),
          sendMessage(t, { chatId: chat.id, content: `copy ${round}`, clientMessageId: id }),
        ]),
        alice.api.post<Message>(`/chats/${chat.id}/messages`, {
          content: `copy ${round}`,
          clientMessageId: id,
        }),
        sendMessage(b, { chatId: chat.id, content: `bob ${round}` }),
      ]);
      const ids = new Set(
        results
          .slice(0, 7)
          .map((r) => ('status' in r ? r.body.id : r.ok ? r.message.id : 'failed')),
      );
      expect(ids.size).toBe(1);
      expect(ids.has('failed')).toBe(false);
    }
    const msgs = (await history(bob, chat.id)).body.messages;
    expect(msgs.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(msgs.filter((m) => m.sender_id === alice.user.id)).toHaveLength(5);
    await settle(b);
    expect(seenByBob).toHaveLength(10);
  });
});

/** A figure of the node's /metrics (Prometheus text), by its series name without labels. */
async function figure(node: string, series: string): Promise<number> {
  const text = await (await fetch(`${node}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.split(' ')[1] ?? 0);
}

describe('message ids', () => {
  it('are UUIDs of version 7 carrying the millisecond of the send, by every statement that stores one', async () => {
    const [alice, bob] = await registerUsers(server.url, 2);
    const chat = await createGroup(alice, [bob], 'Ids');
    const node = server.nodeUrls[0] ?? server.url;
    const a = await connect(node, alice.token);
    const b = await connect(node, bob.token);
    const batchedBefore = await figure(node, 'parley_sends_stored_total{by="batch"}');
    await sendMessage(a, { chatId: chat.id, content: 'alone' });
    // Two sockets' sends arrive together: group commit stores them by one statement.
    await Promise.all(
      [1, 2, 3, 4, 5].flatMap((i) => [
        sendMessage(a, { chatId: chat.id, content: `a${i}` }),
        sendMessage(b, { chatId: chat.id, content: `b${i}` }),
      ]),
    );
    expect(await figure(node, 'parley_sends_stored_total{by="batch"}')).toBeGreaterThan(
      batchedBefore,
    );
    await bob.api.post(`/chats/${chat.id}/messages`, { content: 'over REST' });
    await alice.api.patch(`/chats/${chat.id}`, { name: 'Ids, renamed' }); // a system message
    const msgs = (await history(alice, chat.id, '?limit=100')).body.messages;
    const system = msgs.filter((m) => m.message_type === 'system');
    expect(system.length).toBeGreaterThan(0);
    expect(msgs.length - system.length).toBe(12);
    for (const m of msgs) {
      expect(m.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const stamped = parseInt(m.id.slice(0, 8) + m.id.slice(9, 13), 16);
      // The id is taken just before the statement that stores the message and stamps created_at.
      expect(Math.abs(stamped - Date.parse(m.created_at))).toBeLessThan(1000);
    }
    expect(new Set(msgs.map((m) => m.id)).size).toBe(msgs.length);
  });
});

describe('a burst of sends (group commit)', () => {
  it('stores every chat gapless, each socket in the order it sent, and answers refusals and repeats one by one', async () => {
    const [alice, bob, carol, dave] = await registerUsers(server.url, 4);
    const chats = await Promise.all(
      [1, 2, 3].map((i) => createGroup(alice, [bob, carol], `Burst ${i}`)),
    );
    const [first] = chats as [Chat];
    // One node: its flushes are the ones counted below.
    const node = server.nodeUrls[0] ?? server.url;
    const a = await connect(node, alice.token);
    const b = await connect(node, bob.token);
    const d = await connect(node, dave.token);
    const flushesBefore = await figure(node, 'parley_send_batch_size_count');
    const sendsBefore = await figure(node, 'parley_send_batch_size_sum');
    const byBatchBefore = await figure(node, 'parley_sends_stored_total{by="batch"}');
    const aloneBefore = await figure(node, 'parley_sends_stored_total{by="alone"}');

    const rounds = 15;
    const sends: ReturnType<typeof sendMessage>[] = [];
    for (let i = 0; i < rounds; i++) {
      for (const chat of chats) {
        sends.push(sendMessage(a, { chatId: chat.id, content: `a${i}`, clientMessageId: `a${i}` }));
        const mention = i === 3 ? ` @${carol.user.username}` : '';
        sends.push(sendMessage(b, { chatId: chat.id, content: `b${i}${mention}` }));
      }
    }
    const repeat = sendMessage(a, { chatId: first.id, content: 'a0', clientMessageId: 'a0' });
    const stranger = sendMessage(d, { chatId: first.id, content: 'let me in' });
    const acks = await Promise.all(sends);

    expect(acks.every((ack) => ack.ok)).toBe(true);
    const firstA0 = acks[0];
    expect(await repeat).toEqual(firstA0);
    expect(await stranger).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    for (const chat of chats) {
      const msgs = (await history(alice, chat.id, '?limit=100')).body.messages;
      expect(msgs.map((m) => m.seq)).toEqual(Array.from({ length: 2 * rounds }, (_, i) => i + 1));
      const order = Array.from({ length: rounds }, (_, i) => i);
      const by = (u: TestUser) => msgs.filter((m) => m.sender_id === u.user.id);
      expect(by(alice).map((m) => m.content)).toEqual(order.map((i) => `a${i}`));
      expect(by(bob).map((m) => m.content.split(' ')[0])).toEqual(order.map((i) => `b${i}`));
      expect(by(bob).map((m) => m.mentions)).toEqual(
        order.map((i) => (i === 3 ? [carol.user.id] : [])),
      );
      // Each message's version is its own: they rise with seq.
      const versions = msgs.map((m) => m.version);
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
      expect(new Set(versions).size).toBe(msgs.length);
      // Sending moved each sender's read mark to their last message.
      const seen = (await bob.api.get<Chat>(`/chats/${chat.id}`)).body.participants;
      for (const u of [alice, bob]) {
        expect(seen.find((p) => p.id === u.user.id)?.last_read_seq).toBe(by(u).at(-1)?.seq);
      }
    }
    // Sends that arrived while a flush ran were written together: fewer flushes than sends.
    const flushes = (await figure(node, 'parley_send_batch_size_count')) - flushesBefore;
    const written = (await figure(node, 'parley_send_batch_size_sum')) - sendsBefore;
    expect(written).toBe(sends.length + 2);
    expect(flushes).toBeLessThan(written);
    // And the batch statement stored some of them itself (not only the one-by-one fallback).
    const byBatch = (await figure(node, 'parley_sends_stored_total{by="batch"}')) - byBatchBefore;
    const alone = (await figure(node, 'parley_sends_stored_total{by="alone"}')) - aloneBefore;
    expect(byBatch).toBeGreaterThan(0);
    expect(byBatch + alone).toBe(sends.length);
  });
});

describe('GET /api/chats/:chatId/messages', () => {
  let alice: TestUser;
  let chat: Chat;
  let all: Message[];
  beforeAll(async () => {
    [alice, , chat] = await pair();
    all = [];
    for (let i = 1; i <= 7; i++) {
      all.push(
        (await alice.api.post<Message>(`/chats/${chat.id}/messages`, { content: `m${i}` })).body,
      );
    }
  });
  const contents = (p: MessagePage) => p.messages.map((m) => m.content);

  it('returns the newest page in seq order, with has_more', async () => {
    const page = (await history(alice, chat.id, '?limit=3')).body;
    expect(contents(page)).toEqual(['m5', 'm6', 'm7']);
    expect(page.has_more).toBe(true);
    const whole = (await history(alice, chat.id)).body;
    expect(contents(whole)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    expect(whole.has_more).toBe(false);
  });

  it('pages back with before and forward with after', async () => {
    const before = (await history(alice, chat.id, `?before=${all[4]?.id}&limit=2`)).body;
    expect(contents(before)).toEqual(['m3', 'm4']);
    expect(before.has_more).toBe(true);
    const start = (await history(alice, chat.id, `?before=${all[1]?.id}&limit=5`)).body;
    expect(contents(start)).toEqual(['m1']);
    expect(start.has_more).toBe(false);
    const after = (await history(alice, chat.id, `?after=${all[1]?.id}&limit=2`)).body;
    expect(contents(after)).toEqual(['m3', 'm4']);
    expect(after.has_more).toBe(true);
    const tail = (await history(alice, chat.id, `?after=${all[5]?.id}`)).body;
    expect(contents(tail)).toEqual(['m7']);
    expect(tail.has_more).toBe(false);
    const none = (await history(alice, chat.id, `?after=${all[6]?.id}`)).body;
    expect(none).toEqual({ messages: [], has_more: false });
  });

  it('refuses bad limits and both cursors with 400, foreign cursors with 404, strangers with 403', async () => {
    for (const q of [
      '?limit=0',
      '?limit=101',
      '?limit=abc',
      `?before=${all[2]?.id}&after=${all[1]?.id}`,
      '?before=nope',
    ]) {
      const res = await history(alice, chat.id, q);
      expect(res.status, q).toBe(400);
    }
    const [other, , otherChat] = await pair();
    const foreign = await other.api.post<Message>(`/chats/${otherChat.id}/messages`, {
      content: 'elsewhere',
    });
    const res = await alice.api.get<ErrorResponse>(
      `/chats/${chat.id}/messages?after=${foreign.body.id}`,
    );
    expect([res.status, res.body.error.code]).toEqual([404, 'not_found']);
    expect((await other.api.get<ErrorResponse>(`/chats/${chat.id}/messages`)).status).toBe(403);
  });

  it('walks the whole history without loss by paging', async () => {
    expect((await everything(alice, chat.id)).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('read marks and unread counts', () => {
  it("counts other people's messages above the mark; reading moves it, never back", async () => {
    const owner = await registerUser(server.url);
    const [alice, bob] = [await registerUser(server.url), await registerUser(server.url)];
    const group = await createGroup(owner, [alice, bob]);
    const sent: Message[] = [];
    for (const [who, text] of [
      [owner, 'a'],
      [bob, 'b'],
      [owner, 'c'],
      [alice, 'd'],
    ] as const) {
      sent.push(
        (await who.api.post<Message>(`/chats/${group.id}/messages`, { content: text })).body,
      );
    }
    const unread = async (u: TestUser) =>
      (await u.api.get<ChatListResponse>('/chats')).body.chats.find((c) => c.id === group.id)
        ?.unread_count;
    // Alice's own send moved her mark to 4: nothing is unread for her.
    expect(await unread(alice)).toBe(0);
    expect(await unread(bob)).toBe(2); // owner's c, alice's d (b is his own, below his mark)
    const a = await connect(server.url, bob.token);
    const read2 = await new Promise((resolve) => {
      a.emit('message:read', { chatId: group.id, messageId: sent[2]!.id }, resolve);
    });
    expect(read2).toEqual({ ok: true });
    expect(await unread(bob)).toBe(1);
    const seen = record(a, 'message:read');
    a.emit('message:read', { chatId: group.id, messageId: sent[0]!.id });
    await settle(a);
    expect(seen).toEqual([]);
    const view = (await owner.api.get<Chat>(`/chats/${group.id}`)).body;
    expect(view.participants.find((p) => p.id === bob.user.id)).toMatchObject({
      last_read_seq: 3,
      last_read_at: expect.stringMatching(/Z$/),
    });
  });
});
