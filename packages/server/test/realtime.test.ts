import { randomBytes, randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { userRoom, type Chat, type Message, type MessagePage } from '@parley/protocol';
import {
  closeSockets,
  connect,
  createDirect,
  createGroup,
  emitAck,
  record,
  registerUser,
  sendMessage,
  settle,
  uniqueName,
  waitFor,
  type ClientSocket,
  type TestUser,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';
import { signToken } from './helpers/tokens.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const CLIENT_EVENTS = [
  'message:send',
  'message:read',
  'typing:start',
  'typing:stop',
  'chat:join',
  'chat:leave',
] as const;

// The main server's typing timeout is long, so a typing:stop within seconds cannot be the
// expiry; the expiry itself is tested on a second server with a short one. Both start at once.
let server: TestServer;
let quick: TestServer;
beforeAll(async () => {
  [server, quick] = await Promise.all([
    startServer({ typingTimeoutMs: 120_000 }),
    startServer({ typingTimeoutMs: 800 }),
  ]);
});
afterEach(() => {
  closeSockets();
});
afterAll(async () => {
  closeSockets();
  await Promise.all([server.close(), quick.close()]);
});

const failure = (code: string) => ({
  ok: false,
  error: { code, message: expect.any(String) as unknown },
});

async function history(user: TestUser, chatId: string): Promise<Message[]> {
  const res = await user.api.get<MessagePage>(`/chats/${chatId}/messages?limit=100`);
  expect(res.status).toBe(200);
  return res.body.messages;
}

async function getChat(user: TestUser, chatId: string): Promise<Chat> {
  const res = await user.api.get<Chat>(`/chats/${chatId}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function sent(socket: ClientSocket, chatId: string, content: string): Promise<Message> {
  const ack = await sendMessage(socket, { chatId, content });
  if (!ack.ok) throw new Error(`send failed: ${JSON.stringify(ack)}`);
  return ack.message;
}

/** Emits without an acknowledgement callback; any arguments, junk included. */
function emitRaw(socket: ClientSocket, event: string, ...args: unknown[]): void {
  (socket.emit as (e: string, ...a: unknown[]) => void)(event, ...args);
}

const sockets: ReturnType<typeof io>[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.disconnect();
});

/**
 * A handshake that must be refused: resolves once connect_error arrives, with every event the
 * socket saw besides it (there must be none) and whether it ever connected.
 */
async function refused(
  auth: unknown,
): Promise<{ error: Error; events: string[]; connected: boolean }> {
  const socket = io(server.url, {
    auth: auth as Record<string, unknown>,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  sockets.push(socket);
  const events: string[] = [];
  let connected = false;
  socket.onAny((event: string) => events.push(event));
  socket.on('connect', () => {
    connected = true;
  });
  const error = await new Promise<Error>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('neither connect_error nor connect')), 5000);
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      resolve(err);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(new Error('connected'));
    });
  });
  return { error, events, connected: connected || socket.connected };
}

const now = () => Math.floor(Date.now() / 1000);

describe('handshake', () => {
  it('refuses a missing, malformed, wrongly signed or expired token with connect_error and nothing else', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    await createDirect(alice, bob);
    const b = await connect(server.url, bob.token);
    const statuses = record(b, 'user:status');

    const attempts: unknown[] = [
      undefined,
      {},
      { token: '' },
      { token: 123 },
      { token: 'not-a-jwt' },
      { token: `${alice.token}x` },
      { token: await signToken(randomBytes(32).toString('hex'), alice.user.id, now() + 3600) },
      { token: await signToken(server.config.jwtSecret, alice.user.id, now() - 60) },
    ];
    for (const auth of attempts) {
      const { error, events, connected } = await refused(auth);
      expect(error.message, JSON.stringify(auth)).not.toBe('connected');
      expect(connected).toBe(false);
      expect(events).toEqual([]);
    }
    // Nobody came online: alice's contact heard nothing of the refused attempts.
    await settle(b);
    expect(statuses).toEqual([]);

    // The control: the same signing with the server's secret and a future expiry is accepted.
    const valid = await signToken(server.config.jwtSecret, alice.user.id, now() + 3600);
    await connect(server.url, valid);
    expect(await waitFor(b, 'user:status')).toMatchObject({
      userId: alice.user.id,
      status: 'online',
    });
  });

  it('refuses the token of a user who no longer exists', async () => {
    const ghost = await registerUser(server.url);
    // A working token first, so the refusal below is about the deleted row only.
    const first = await connect(server.url, ghost.token);
    first.disconnect();
    await server.app.database.db.deleteFrom('users').where('id', '=', ghost.user.id).execute();
    const { error, events, connected } = await refused({ token: ghost.token });
    expect(error.message).not.toBe('connected');
    expect(connected).toBe(false);
    expect(events).toEqual([]);
    expect((await ghost.api.get('/auth/me')).status).toBe(401);
  });
});

describe('rooms on connect', () => {
  it('delivers messages of existing chats to a freshly connected participant without chat:join', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const carol = await registerUser(server.url);
    const direct = await createDirect(alice, bob);
    const group = await createGroup(carol, [bob]);
    const a = await connect(server.url, alice.token);
    const c = await connect(server.url, carol.token);
    const b = await connect(server.url, bob.token);

    const inDirect = waitFor(b, 'message:new', (m) => m.chat_id === direct.id);
    const m1 = await sent(a, direct.id, 'to bob directly');
    expect(await inDirect).toEqual(m1);

    const inGroup = waitFor(b, 'message:new', (m) => m.chat_id === group.id);
    const m2 = await sent(c, group.id, 'to the group');
    expect(await inGroup).toEqual(m2);
  });
});

describe('authorization and error codes', () => {
  let alice: TestUser;
  let bob: TestUser;
  let mallory: TestUser;
  let chat: Chat;
  let first: Message;

  beforeAll(async () => {
    alice = await registerUser(server.url);
    bob = await registerUser(server.url);
    mallory = await registerUser(server.url);
    chat = await createDirect(alice, bob);
    first = (await alice.api.post<Message>(`/chats/${chat.id}/messages`, { content: 'first' }))
      .body;
  });

  it('refuses every event from a non-participant with forbidden, broadcasting and storing nothing', async () => {
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const m = await connect(server.url, mallory.token);
    const seen = [a, b].flatMap((s) => [
      record(s, 'message:new'),
      record(s, 'message:read'),
      record(s, 'typing:start'),
      record(s, 'typing:stop'),
    ]);
    const payloads: Record<(typeof CLIENT_EVENTS)[number], object> = {
      'message:send': { chatId: chat.id, content: 'let me in' },
      'message:read': { chatId: chat.id, messageId: first.id },
      'typing:start': { chatId: chat.id },
      'typing:stop': { chatId: chat.id },
      'chat:join': { chatId: chat.id },
      'chat:leave': { chatId: chat.id },
    };
    for (const event of CLIENT_EVENTS) {
      expect(await emitAck(m, event, payloads[event]), event).toEqual(failure('forbidden'));
    }
    // Without a callback, each refusal comes back as an `error` event.
    const errors = record(m, 'error');
    for (const event of CLIENT_EVENTS) emitRaw(m, event, payloads[event]);
    // The events run concurrently: wait for all six, then make sure no more follow.
    await expect.poll(() => errors.length).toBeGreaterThanOrEqual(CLIENT_EVENTS.length);
    await settle(m);
    expect(errors).toEqual(
      CLIENT_EVENTS.map(() => ({ message: expect.any(String) as unknown, code: 'forbidden' })),
    );
    // chat:join was refused: a message sent now does not reach the outsider.
    const outsiderGot = record(m, 'message:new');
    const next = await sent(a, chat.id, 'still private');
    await settle(a, b, m);
    expect(outsiderGot).toEqual([]);
    // Only alice's own send reached the room.
    expect(seen.flat()).toEqual([next, next]);
    expect((await history(alice, chat.id)).map((x) => x.content)).toEqual([
      'first',
      'still private',
    ]);
    const view = await getChat(alice, chat.id);
    expect(view.participants.map((p) => p.id).sort()).toEqual([alice.user.id, bob.user.id].sort());
    expect(view.participants.find((p) => p.id === bob.user.id)?.last_read_seq).toBe(0);
  });

  it('answers an unknown chat (a well-formed id) with not_found for every event', async () => {
    const m = await connect(server.url, mallory.token);
    const unknown = randomUUID();
    const payloads: Record<(typeof CLIENT_EVENTS)[number], object> = {
      'message:send': { chatId: unknown, content: 'anyone?' },
      'message:read': { chatId: unknown, messageId: first.id },
      'typing:start': { chatId: unknown },
      'typing:stop': { chatId: unknown },
      'chat:join': { chatId: unknown },
      'chat:leave': { chatId: unknown },
    };
    for (const event of CLIENT_EVENTS) {
      expect(await emitAck(m, event, payloads[event]), event).toEqual(failure('not_found'));
    }
  });

  it('answers malformed ids with validation_failed for every event', async () => {
    const a = await connect(server.url, alice.token);
    const before = await history(alice, chat.id);
    const payloads: Record<(typeof CLIENT_EVENTS)[number], object[]> = {
      'message:send': [{ chatId: 'not-a-uuid', content: 'hi' }],
      'message:read': [
        { chatId: chat.id, messageId: 'not-a-uuid' },
        { chatId: 'not-a-uuid', messageId: first.id },
      ],
      'typing:start': [{ chatId: 'not-a-uuid' }],
      'typing:stop': [{ chatId: `${chat.id}x` }],
      'chat:join': [{ chatId: '' }],
      'chat:leave': [{ chatId: 42 }],
    };
    for (const event of CLIENT_EVENTS) {
      for (const payload of payloads[event]) {
        expect(await emitAck(a, event, payload), `${event} ${JSON.stringify(payload)}`).toEqual(
          failure('validation_failed'),
        );
      }
    }
    expect(await history(alice, chat.id)).toEqual(before);
  });

  it('takes the first of validation_failed, not_found, forbidden when several apply', async () => {
    const m = await connect(server.url, mallory.token);
    // Not a participant and bad content: validation_failed.
    expect(await sendMessage(m, { chatId: chat.id, content: '' })).toEqual(
      failure('validation_failed'),
    );
    expect(await sendMessage(m, { chatId: randomUUID(), content: 'x'.repeat(4001) })).toEqual(
      failure('validation_failed'),
    );
    // Unknown chat for an outsider: not_found, not forbidden.
    expect(await sendMessage(m, { chatId: randomUUID(), content: 'hello' })).toEqual(
      failure('not_found'),
    );
    // A chat the outsider is not in, and a message that does not exist: not_found.
    expect(await emitAck(m, 'message:read', { chatId: chat.id, messageId: randomUUID() })).toEqual(
      failure('not_found'),
    );
  });
});

describe('message:send input', () => {
  it('refuses every bad input class, accepts the limits, and stores only what it acks', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const bobGot = record(b, 'message:new');

    const bad: unknown[] = [
      { chatId: chat.id },
      { content: 'no chat' },
      {},
      { chatId: chat.id, content: 5 },
      { chatId: 123, content: 'hi' },
      { chatId: chat.id, content: null },
      { chatId: chat.id, content: ['hi'] },
      { chatId: chat.id, content: '' },
      { chatId: chat.id, content: '   \n\t  ' },
      { chatId: chat.id, content: 'a'.repeat(4001) },
      { chatId: chat.id, content: '😀'.repeat(4001) },
      { chatId: chat.id, content: 'a'.repeat(20_000) },
      { chatId: chat.id, content: 'nul \u0000 inside' },
      { chatId: chat.id, content: 'hi', messageType: 'system' },
      { chatId: chat.id, content: 'hi', messageType: 'bogus' },
      { chatId: chat.id, content: 'hi', clientMessageId: '' },
      { chatId: chat.id, content: 'hi', clientMessageId: 'c'.repeat(65) },
      { chatId: chat.id, content: 'hi', clientMessageId: 7 },
    ];
    for (const payload of bad) {
      const label = JSON.stringify(payload).slice(0, 80);
      expect(await emitAck(a, 'message:send', payload), label).toEqual(
        failure('validation_failed'),
      );
    }
    await settle(b);
    expect(bobGot).toEqual([]);
    expect(await history(alice, chat.id)).toEqual([]);

    // The limits: exactly 4000 characters, 4000 emoji (code points, 8000 UTF-16 units), and
    // surrounding whitespace does not count and is kept as sent.
    const limit = 'a'.repeat(4000);
    const emoji = '😀'.repeat(4000);
    const padded = `  ${'b'.repeat(4000)}  \n`;
    for (const content of [limit, emoji, padded]) {
      const ack = await sendMessage(a, { chatId: chat.id, content });
      expect(ack.ok).toBe(true);
      if (ack.ok) expect(ack.message.content).toBe(content);
    }
    const stored = await history(bob, chat.id);
    expect(stored.map((m) => m.content)).toEqual([limit, emoji, padded]);
    expect(stored.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('answers junk payloads with a validation_failed ack, or an error event without a callback, and harms no one', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const bobErrors = record(b, 'error');
    let bobDropped = false;
    b.on('disconnect', () => {
      bobDropped = true;
    });

    const junk: unknown[] = [null, 'a string', 42, ['an', 'array'], true];
    for (const payload of junk) {
      expect(await emitAck(a, 'message:send', payload), JSON.stringify(payload)).toEqual(
        failure('validation_failed'),
      );
    }
    // No payload at all, only the callback.
    const bare = await new Promise<unknown>((resolve) => {
      (a.emit as (e: string, cb: (r: unknown) => void) => void)('message:send', resolve);
    });
    expect(bare).toEqual(failure('validation_failed'));

    // The same junk without a callback: an `error` event each.
    const errors = record(a, 'error');
    for (const payload of junk) emitRaw(a, 'message:send', payload);
    emitRaw(a, 'message:send');
    for (const event of CLIENT_EVENTS.filter((e) => e !== 'message:send'))
      emitRaw(a, event, 'junk');
    await expect
      .poll(() => errors.length)
      .toBeGreaterThanOrEqual(junk.length + CLIENT_EVENTS.length);
    await settle(a);
    expect(errors).toHaveLength(junk.length + 1 + CLIENT_EVENTS.length - 1);
    for (const e of errors)
      expect(e).toEqual({ message: expect.any(String) as unknown, code: 'validation_failed' });

    // Everyone is still here and the server still answers.
    expect(a.connected).toBe(true);
    expect(b.connected).toBe(true);
    expect(bobDropped).toBe(false);
    expect(bobErrors).toEqual([]);
    const arrived = waitFor(b, 'message:new');
    const m = await sent(a, chat.id, 'still working');
    expect(await arrived).toEqual(m);
    expect(await history(bob, chat.id)).toEqual([m]);
    expect((await bob.api.get('/auth/me')).status).toBe(200);
  });

  it('closes the socket that sends a frame over 64 KiB, and no other', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const big = await connect(server.url, alice.token);
    const otherTab = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    let othersDropped = 0;
    for (const s of [otherTab, b]) s.on('disconnect', () => othersDropped++);

    const closed = new Promise<string>((resolve) =>
      big.once('disconnect', (reason) => resolve(reason)),
    );
    const acks: unknown[] = [];
    (big.emit as (e: string, p: unknown, cb: (r: unknown) => void) => void)(
      'message:send',
      { chatId: chat.id, content: 'x'.repeat(70_000) },
      (r) => acks.push(r),
    );
    await closed;
    expect(big.connected).toBe(false);

    const toTab = waitFor(otherTab, 'message:new');
    const toBob = waitFor(b, 'message:new');
    const reply = await sent(b, chat.id, 'are you there?');
    expect(await toTab).toEqual(reply);
    expect(await toBob).toEqual(reply);
    expect(othersDropped).toBe(0);
    expect(acks).toEqual([]);
    expect((await history(bob, chat.id)).map((m) => m.content)).toEqual(['are you there?']);
  });
});

describe('message:send', () => {
  it('acks the stored message in the contract shape and delivers it to the whole room, sender tabs included', async () => {
    const alice = await registerUser(server.url, { displayName: 'Alice A.' });
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const a1 = await connect(server.url, alice.token);
    const a2 = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const arrivals = [a1, a2, b].map((s) => waitFor(s, 'message:new'));

    const ack = await sendMessage(a1, {
      chatId: chat.id,
      content: 'hello there',
      clientMessageId: 'cm-1',
    });
    expect(ack.ok).toBe(true);
    if (!ack.ok) return;
    const m = ack.message;
    expect(m).toEqual({
      ...m,
      id: expect.stringMatching(/^[0-9a-f-]{36}$/i) as unknown,
      chat_id: chat.id,
      seq: 1,
      sender_id: alice.user.id,
      sender: {
        id: alice.user.id,
        username: alice.user.username,
        display_name: 'Alice A.',
        avatar_url: null,
      },
      content: 'hello there',
      message_type: 'text',
      client_message_id: 'cm-1',
      created_at: expect.stringMatching(ISO_UTC) as unknown,
      edited_at: null,
      deleted_at: null,
      version: 1,
      reply_to: null,
      reactions: [],
      mentions: [],
      attachments: [],
    });
    expect(Object.keys(m.sender).sort()).toEqual(['avatar_url', 'display_name', 'id', 'username']);
    expect(Object.keys(m).filter((k) => /[A-Z]/.test(k))).toEqual([]);
    for (const got of await Promise.all(arrivals)) expect(got).toEqual(m);
    expect(await history(bob, chat.id)).toEqual([m]);

    const second = await sent(a2, chat.id, 'again');
    expect(second.seq).toBe(2);
  });

  it('a repeated clientMessageId acks the first message again and stores and broadcasts nothing, also when racing', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const a1 = await connect(server.url, alice.token);
    const a2 = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const bobGot = record(b, 'message:new');

    const payload = { chatId: chat.id, content: 'only once', clientMessageId: 'x' };
    const first = await sendMessage(a1, payload);
    expect(first.ok).toBe(true);
    expect(await sendMessage(a1, payload)).toEqual(first);
    // A retry from another tab (a reconnect, say) is the same sender.
    expect(await sendMessage(a2, { ...payload, content: 'a different text' })).toEqual(first);

    // Two copies at once, from two tabs.
    const race = { chatId: chat.id, content: 'race', clientMessageId: 'r' };
    const racing = await Promise.all([sendMessage(a1, race), sendMessage(a2, race)]);
    expect(racing[0].ok).toBe(true);
    expect(racing[1]).toEqual(racing[0]);

    await settle(b);
    const stored = await history(bob, chat.id);
    expect(stored.map((m) => [m.seq, m.content])).toEqual([
      [1, 'only once'],
      [2, 'race'],
    ]);
    expect(bobGot.map((m) => m.id)).toEqual(stored.map((m) => m.id));
    expect(first.ok && stored[0]).toEqual(first.ok && first.message);
  });
});

describe('message:read', () => {
  it('moves the mark up only, and announces only moves', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const other = await createDirect(alice, await registerUser(server.url));
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const m1 = await sent(a, chat.id, 'one');
    const m2 = await sent(a, chat.id, 'two');
    const elsewhere = await sent(a, other.id, 'elsewhere');
    expect((await getChat(bob, chat.id)).unread_count).toBe(2);

    const toAlice = waitFor(a, 'message:read');
    const toBob = waitFor(b, 'message:read');
    expect(await emitAck(b, 'message:read', { chatId: chat.id, messageId: m2.id })).toEqual({
      ok: true,
    });
    const expected = { messageId: m2.id, userId: bob.user.id, chatId: chat.id, seq: 2 };
    expect(await toAlice).toEqual(expected);
    expect(await toBob).toEqual(expected);

    const seenByAlice = await getChat(alice, chat.id);
    const bobThere = seenByAlice.participants.find((p) => p.id === bob.user.id);
    expect(bobThere?.last_read_seq).toBe(2);
    expect(bobThere?.last_read_at).toMatch(ISO_UTC);
    expect((await getChat(bob, chat.id)).unread_count).toBe(0);

    // An older message after a newer one: ok, but the mark stays and nothing is announced.
    const reads = [record(a, 'message:read'), record(b, 'message:read')];
    expect(await emitAck(b, 'message:read', { chatId: chat.id, messageId: m1.id })).toEqual({
      ok: true,
    });
    expect(await emitAck(b, 'message:read', { chatId: chat.id, messageId: m2.id })).toEqual({
      ok: true,
    });
    await settle(a, b);
    expect(reads.flat()).toEqual([]);
    const after = await getChat(alice, chat.id);
    expect(after.participants.find((p) => p.id === bob.user.id)?.last_read_seq).toBe(2);

    // A message of another chat.
    expect(await emitAck(b, 'message:read', { chatId: chat.id, messageId: elsewhere.id })).toEqual(
      failure('not_found'),
    );
  });
});

describe('typing', () => {
  it('typing:start and typing:stop reach the other participants, none of the typist’s own tabs', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const carol = await registerUser(server.url);
    const chat = await createGroup(alice, [bob, carol]);
    const a1 = await connect(server.url, alice.token);
    const a2 = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const c = await connect(server.url, carol.token);
    const own = [
      record(a1, 'typing:start'),
      record(a2, 'typing:start'),
      record(a1, 'typing:stop'),
      record(a2, 'typing:stop'),
    ];

    const starts = [b, c].map((s) => waitFor(s, 'typing:start'));
    expect(await emitAck(a1, 'typing:start', { chatId: chat.id })).toEqual({ ok: true });
    for (const got of await Promise.all(starts)) {
      expect(got).toEqual({
        chatId: chat.id,
        userId: alice.user.id,
        username: alice.user.username,
      });
    }

    const stops = [b, c].map((s) => waitFor(s, 'typing:stop'));
    expect(await emitAck(a1, 'typing:stop', { chatId: chat.id })).toEqual({ ok: true });
    for (const got of await Promise.all(stops))
      expect(got).toEqual({ chatId: chat.id, userId: alice.user.id });

    await settle(a1, a2);
    expect(own.flat()).toEqual([]);
  });

  // A client stops typing when it sends (the web client does): its typing:stop can follow its
  // typing:start before the start's handler is done. Taken out of order, the stop found nothing
  // and the start lived on unseen, so the next start was a silent renewal: nobody saw it.
  it('takes a socket’s typing:start and typing:stop in the order sent, so the next start is seen', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const heard = [record(b, 'typing:start'), record(b, 'typing:stop')];

    const [started, stopped] = await Promise.all([
      emitAck(a, 'typing:start', { chatId: chat.id }),
      emitAck(a, 'typing:stop', { chatId: chat.id }),
    ]);
    expect([started, stopped]).toEqual([{ ok: true }, { ok: true }]);
    const again = waitFor(b, 'typing:start', () => true, 3000);
    expect(await emitAck(a, 'typing:start', { chatId: chat.id })).toEqual({ ok: true });
    await again;
    await settle(b);
    const [starts, stops] = heard;
    expect(starts).toHaveLength(2);
    expect(stops).toEqual([{ chatId: chat.id, userId: alice.user.id }]);
  });

  describe('with a short timeout', () => {
    it('sends typing:stop to the others once a typing:start is not repeated', async () => {
      const alice = await registerUser(quick.url);
      const bob = await registerUser(quick.url);
      const chat = await createDirect(alice, bob);
      const a = await connect(quick.url, alice.token);
      const b = await connect(quick.url, bob.token);
      const stops = record(b, 'typing:stop');
      const ownStops = record(a, 'typing:stop');

      const started = waitFor(b, 'typing:start');
      expect(await emitAck(a, 'typing:start', { chatId: chat.id })).toEqual({ ok: true });
      await started;
      await settle(b);
      expect(stops).toEqual([]); // not at once: only when it expires

      expect(await waitFor(b, 'typing:stop', () => true, 3000)).toEqual({
        chatId: chat.id,
        userId: alice.user.id,
      });
      await settle(a);
      expect(ownStops).toEqual([]);
    });
  });

  describe('with a long timeout (the main server)', () => {
    it('sends typing:stop at once when the typing socket disconnects', async () => {
      const alice = await registerUser(server.url);
      const bob = await registerUser(server.url);
      const chat = await createDirect(alice, bob);
      const a = await connect(server.url, alice.token);
      const b = await connect(server.url, bob.token);

      const started = waitFor(b, 'typing:start');
      expect(await emitAck(a, 'typing:start', { chatId: chat.id })).toEqual({ ok: true });
      await started;
      const stopped = waitFor(b, 'typing:stop', () => true, 3000);
      a.disconnect();
      expect(await stopped).toEqual({ chatId: chat.id, userId: alice.user.id });
    });
  });
});

describe('presence', () => {
  it('tells contacts only, on the first connect and the last disconnect', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const carol = await registerUser(server.url);
    const dave = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    await createDirect(carol, dave); // carol shares no chat with alice
    const b = await connect(server.url, bob.token);
    const c = await connect(server.url, carol.token);
    const bobHeard = record(b, 'user:status');
    const carolHeard = record(c, 'user:status');
    const aboutAlice = () => bobHeard.filter((s) => s.userId === alice.user.id);

    const online = waitFor(b, 'user:status', (s) => s.userId === alice.user.id);
    const a1 = await connect(server.url, alice.token);
    expect(await online).toEqual({ userId: alice.user.id, status: 'online' });
    await settle(c);
    expect(carolHeard).toEqual([]);
    expect((await bob.api.get<{ status: string }>(`/users/${alice.user.id}`)).body.status).toBe(
      'online',
    );

    // A second tab announces nothing, nor does closing one of two.
    const a2 = await connect(server.url, alice.token);
    const viaTab2 = waitFor(b, 'message:new');
    await sent(a2, chat.id, 'from tab 2');
    await viaTab2;
    await settle(b);
    expect(aboutAlice()).toHaveLength(1);

    a2.disconnect();
    await expect
      .poll(async () => (await server.app.io.in(userRoom(alice.user.id)).fetchSockets()).length)
      .toBe(1);
    await settle(b, a1);
    expect(aboutAlice()).toHaveLength(1);
    expect((await bob.api.get<{ status: string }>(`/users/${alice.user.id}`)).body.status).toBe(
      'online',
    );

    // The last one: offline with lastSeenAt, once.
    const offline = waitFor(
      b,
      'user:status',
      (s) => s.userId === alice.user.id && s.status === 'offline',
    );
    a1.disconnect();
    const event = await offline;
    expect(event).toEqual({
      userId: alice.user.id,
      status: 'offline',
      lastSeenAt: expect.stringMatching(ISO_UTC) as unknown,
    });
    await settle(b, c);
    expect(aboutAlice()).toHaveLength(2);
    expect(carolHeard).toEqual([]);

    const seen = await bob.api.get<{ status: string; last_seen_at: string | null }>(
      `/users/${alice.user.id}`,
    );
    expect(seen.body.status).toBe('offline');
    expect(seen.body.last_seen_at).toMatch(ISO_UTC);
  });
});

describe('chat:leave and chat:join', () => {
  it('stops and resumes delivery to one socket without touching membership', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const b1 = await connect(server.url, bob.token);
    const b2 = await connect(server.url, bob.token);

    expect(await emitAck(b1, 'chat:leave', { chatId: chat.id })).toEqual({ ok: true });
    const leftGot = record(b1, 'message:new');
    const toOtherTab = waitFor(b2, 'message:new');
    const m1 = await sent(a, chat.id, 'while away');
    expect(await toOtherTab).toEqual(m1);
    await settle(b1);
    expect(leftGot).toEqual([]);

    // Membership is unchanged.
    expect((await history(bob, chat.id)).map((m) => m.id)).toEqual([m1.id]);
    const list = await bob.api.get<{ chats: Chat[] }>('/chats');
    expect(list.body.chats.map((c) => c.id)).toContain(chat.id);

    expect(await emitAck(b1, 'chat:join', { chatId: chat.id })).toEqual({ ok: true });
    const back = waitFor(b1, 'message:new');
    const m2 = await sent(a, chat.id, 'welcome back');
    expect(await back).toEqual(m2);
  });
});

describe('live room moves', () => {
  it('a group created while connected arrives as chat:new, and its messages follow without a reconnect', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const name = uniqueName('g');
    const toAlice = waitFor(a, 'chat:new', (c) => c.name === name);
    const toBob = waitFor(b, 'chat:new', (c) => c.name === name);
    const group = await createGroup(bob, [alice], name);

    const announced = await toAlice;
    expect(announced).toEqual(await getChat(alice, group.id));
    expect((await toBob).id).toBe(group.id);

    const arrived = waitFor(a, 'message:new', (m) => m.chat_id === group.id);
    const m = await sent(b, group.id, 'welcome');
    expect(await arrived).toEqual(m);
  });

  it('a direct chat started while connected arrives as chat:new on both sides, once', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const toAlice = waitFor(a, 'chat:new');
    const toBob = waitFor(b, 'chat:new');
    const chat = await createDirect(bob, alice);
    expect(await toAlice).toEqual(await getChat(alice, chat.id));
    expect(await toBob).toEqual(await getChat(bob, chat.id));

    const arrived = waitFor(a, 'message:new');
    const m = await sent(b, chat.id, 'hi');
    expect(await arrived).toEqual(m);

    // Starting it again finds the same chat and announces nothing.
    const news = [record(a, 'chat:new'), record(b, 'chat:new')];
    const again = await bob.api.post<Chat>('/chats', { type: 'direct', userId: alice.user.id });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(chat.id);
    await settle(a, b);
    expect(news.flat()).toEqual([]);
  });

  it('adding and removing a participant moves their live sockets and tells the others', async () => {
    const owner = await registerUser(server.url);
    const carol = await registerUser(server.url);
    const alice = await registerUser(server.url);
    const group = await createGroup(owner, [carol]);
    const o = await connect(server.url, owner.token);
    const c = await connect(server.url, carol.token);
    const a1 = await connect(server.url, alice.token);
    const a2 = await connect(server.url, alice.token);
    const aliceUpdates = record(a1, 'chat:updated');

    const news = [a1, a2].map((s) => waitFor(s, 'chat:new', (x) => x.id === group.id));
    const updates = [o, c].map((s) => waitFor(s, 'chat:updated', (x) => x.id === group.id));
    const added = await owner.api.post<Chat>(`/chats/${group.id}/participants`, {
      userId: alice.user.id,
    });
    expect(added.status).toBe(201);
    const [newChat] = await Promise.all(news);
    expect(newChat?.participants.map((p) => p.id)).toContain(alice.user.id);
    expect(newChat).toEqual(await getChat(alice, group.id));
    const [toOwner, toCarol] = await Promise.all(updates);
    expect(toOwner?.participants.map((p) => p.id).sort()).toEqual(
      [owner.user.id, carol.user.id, alice.user.id].sort(),
    );
    expect(toOwner).toEqual(await getChat(owner, group.id));
    expect(toCarol).toEqual(await getChat(carol, group.id));
    const inGroup = [a1, a2].map((s) => waitFor(s, 'message:new', (x) => x.chat_id === group.id));
    const hello = await sent(c, group.id, 'hi alice');
    for (const got of await Promise.all(inGroup)) expect(got).toEqual(hello);
    await settle(a1);
    expect(aliceUpdates.filter((x) => x.id === group.id)).toEqual([]);

    // Removed: chat:removed to every tab, no more messages; the others get chat:updated.
    const removed = [a1, a2].map((s) => waitFor(s, 'chat:removed', (x) => x.chatId === group.id));
    const updated = [o, c].map((s) =>
      waitFor(
        s,
        'chat:updated',
        (x) => x.id === group.id && !x.participants.some((p) => p.id === alice.user.id),
      ),
    );
    expect(
      (await owner.api.delete(`/chats/${group.id}/participants/${alice.user.id}`)).status,
    ).toBe(204);
    for (const r of await Promise.all(removed)) expect(r).toEqual({ chatId: group.id });
    await Promise.all(updated);

    const afterRemoval = [record(a1, 'message:new'), record(a2, 'message:new')];
    await sent(c, group.id, 'alice is gone');
    await settle(a1, a2);
    expect(afterRemoval.flat()).toEqual([]);
    expect(await emitAck(a1, 'chat:join', { chatId: group.id })).toEqual(failure('forbidden'));
    expect(aliceUpdates.filter((x) => x.id === group.id)).toEqual([]);
    expect((await alice.api.get(`/chats/${group.id}`)).status).toBe(403);

    // Leaving by oneself: chat:removed too.
    const carolRemoved = waitFor(c, 'chat:removed', (x) => x.chatId === group.id);
    const ownerUpdated = waitFor(o, 'chat:updated', (x) => x.participants.length === 1);
    expect(
      (await carol.api.delete(`/chats/${group.id}/participants/${carol.user.id}`)).status,
    ).toBe(204);
    expect(await carolRemoved).toEqual({ chatId: group.id });
    expect((await ownerUpdated).participants.map((p) => p.id)).toEqual([owner.user.id]);
  });
});

describe('ids', () => {
  // UUIDs are case-insensitive on input (RFC 9562), and the server accepts upper-case ones as
  // well-formed: they must then name the same chat, room included.
  it('an upper-case chat id acts on the same chat as the lower-case one', async () => {
    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const upper = chat.id.toUpperCase();
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);

    const typing = waitFor(b, 'typing:start', () => true, 2000);
    expect(await emitAck(a, 'typing:start', { chatId: upper })).toEqual({ ok: true });
    expect(await typing).toMatchObject({ userId: alice.user.id });

    const m = await sent(a, upper, 'upper');
    expect(m.chat_id).toBe(chat.id);
    const read = waitFor(a, 'message:read', () => true, 2000);
    expect(await emitAck(b, 'message:read', { chatId: upper, messageId: m.id })).toEqual({
      ok: true,
    });
    expect(await read).toMatchObject({ userId: bob.user.id, seq: 1 });

    expect(await emitAck(b, 'chat:leave', { chatId: upper })).toEqual({ ok: true });
    const bobGot = record(b, 'message:new');
    await sent(a, chat.id, 'after leave');
    await settle(b);
    expect(bobGot).toEqual([]);
  });
});

describe('chat:updated on a rename and a role change', () => {
  it('reaches every participant with the chat as they see it', async () => {
    const owner = await registerUser(server.url);
    const member = await registerUser(server.url);
    const group = await createGroup(owner, [member], 'Before');
    const o = await connect(server.url, owner.token);
    const m = await connect(server.url, member.token);

    const renamed = [o, m].map((s) => waitFor(s, 'chat:updated', (c) => c.name === 'After'));
    expect((await owner.api.patch(`/chats/${group.id}`, { name: 'After' })).status).toBe(200);
    for (const chat of await Promise.all(renamed)) expect(chat.id).toBe(group.id);

    const promoted = waitFor(m, 'chat:updated', (c) =>
      c.participants.some((p) => p.id === member.user.id && p.role === 'admin'),
    );
    const res = await owner.api.patch(`/chats/${group.id}/participants/${member.user.id}`, {
      role: 'admin',
    });
    expect(res.status).toBe(200);
    expect((await promoted).id).toBe(group.id);
  });
});
