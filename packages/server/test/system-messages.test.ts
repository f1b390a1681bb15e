// A chat's own lines about changes to it ("Alice added Carol"): stored as `system` messages in
// the transaction of the change, with the chat's next seq and version, and delivered to the room
// as `message:new` once the room has moved.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChangesPage, Chat, ErrorResponse, Message, MessagePage } from '@parley/protocol';
import {
  closeSockets,
  connect,
  createGroup,
  emitAck,
  record,
  registerUser,
  settle,
  waitFor,
  type TestUser,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterEach(() => closeSockets());
afterAll(() => server.close());

/** Three people with display names, and a group of Alice's holding Bob. */
async function setup(): Promise<{ alice: TestUser; bob: TestUser; carol: TestUser; chat: Chat }> {
  const [alice, bob, carol] = await Promise.all([
    registerUser(server.url, { displayName: 'Alice Liddell' }),
    registerUser(server.url, { displayName: 'Bob' }),
    registerUser(server.url, { displayName: 'Carol' }),
  ]);
  const chat = await createGroup(alice, [bob], 'Tea party');
  return { alice, bob, carol, chat };
}

const send = async (user: TestUser, chatId: string, content: string): Promise<Message> => {
  const res = await user.api.post<Message>(`/chats/${chatId}/messages`, { content });
  if (res.status !== 201) throw new Error(`send: ${res.status}`);
  return res.body;
};
const add = (actor: TestUser, chatId: string, user: TestUser) =>
  actor.api.post<Chat & ErrorResponse>(`/chats/${chatId}/participants`, { userId: user.user.id });
const remove = (actor: TestUser, chatId: string, user: TestUser) =>
  actor.api.delete<ErrorResponse | null>(`/chats/${chatId}/participants/${user.user.id}`);
const rename = (actor: TestUser, chatId: string, name: string) =>
  actor.api.patch<Chat & ErrorResponse>(`/chats/${chatId}`, { name });
const history = async (user: TestUser, chatId: string): Promise<Message[]> =>
  (await user.api.get<MessagePage>(`/chats/${chatId}/messages?limit=100`)).body.messages;
const chatOf = async (user: TestUser, chatId: string): Promise<Chat> =>
  (await user.api.get<Chat>(`/chats/${chatId}`)).body;
const lines = (messages: readonly Message[]) =>
  messages.filter((m) => m.message_type === 'system').map((m) => m.content);

describe('system messages', () => {
  it('adding a member leaves "Alice added Carol" for everyone, the added member included', async () => {
    const { alice, bob, carol, chat } = await setup();
    await send(bob, chat.id, 'hello');
    const [bobSocket, carolSocket] = await Promise.all([
      connect(server.url, bob.token),
      connect(server.url, carol.token),
    ]);
    // What reaches Carol, in order: she learns of the chat before its line arrives.
    const carolSaw: string[] = [];
    carolSocket.on('chat:new', () => carolSaw.push('chat:new'));
    carolSocket.on('message:new', (m) => carolSaw.push(`message:new ${m.content}`));
    const bobGets = waitFor(bobSocket, 'message:new');
    const carolGets = waitFor(carolSocket, 'message:new');

    const res = await add(alice, chat.id, carol);
    expect(res.status).toBe(201);
    const [toBob, toCarol] = await Promise.all([bobGets, carolGets]);
    expect(toBob).toMatchObject({
      chat_id: chat.id,
      seq: 2,
      version: 2,
      message_type: 'system',
      content: 'Alice Liddell added Carol',
      sender_id: alice.user.id,
      client_message_id: null,
      mentions: [],
    });
    expect(toCarol).toEqual(toBob);
    expect(carolSaw).toEqual(['chat:new', 'message:new Alice Liddell added Carol']);
    // The answer and the stored chat show it as the newest message, version included.
    expect(res.body.last_message).toEqual(toBob);
    expect(res.body.version).toBe(2);
    const stored = await history(carol, chat.id);
    expect(stored.map((m) => [m.seq, m.version, m.content])).toEqual([
      [1, 1, 'hello'],
      [2, 2, 'Alice Liddell added Carol'],
    ]);
    // Unread for Bob; for Alice, like a message she sent, it moves her read mark to it.
    expect((await chatOf(bob, chat.id)).unread_count).toBe(1);
    const alices = await chatOf(alice, chat.id);
    expect(alices.unread_count).toBe(0);
    expect(alices.participants.find((p) => p.id === alice.user.id)?.last_read_seq).toBe(2);
    // Catch-up finds it.
    const since = await bob.api.get<ChangesPage>(`/chats/${chat.id}/changes?since=1`);
    expect(since.body.messages.map((m) => m.content)).toEqual(['Alice Liddell added Carol']);
    expect(since.body.version).toBe(2);
  });

  it('removing a member tells those who stay; the removed member gets only chat:removed', async () => {
    const { alice, bob, carol, chat } = await setup();
    expect((await add(alice, chat.id, carol)).status).toBe(201);
    const [bobSocket, carolSocket] = await Promise.all([
      connect(server.url, bob.token),
      connect(server.url, carol.token),
    ]);
    const carolMessages = record(carolSocket, 'message:new');
    const removed = waitFor(carolSocket, 'chat:removed');
    const bobGets = waitFor(bobSocket, 'message:new');
    expect((await remove(alice, chat.id, carol)).status).toBe(204);
    expect(await bobGets).toMatchObject({
      seq: 2,
      version: 2,
      message_type: 'system',
      content: 'Alice Liddell removed Carol',
      sender_id: alice.user.id,
    });
    await removed;
    await settle(carolSocket);
    expect(carolMessages).toEqual([]);
  });

  it('leaving leaves "Carol left", sent by Carol', async () => {
    const { alice, bob, carol, chat } = await setup();
    expect((await add(alice, chat.id, carol)).status).toBe(201);
    const bobSocket = await connect(server.url, bob.token);
    const bobGets = waitFor(bobSocket, 'message:new');
    expect((await remove(carol, chat.id, carol)).status).toBe(204);
    expect(await bobGets).toMatchObject({
      seq: 2,
      content: 'Carol left',
      sender_id: carol.user.id,
      sender: { display_name: 'Carol' },
    });
    expect(lines(await history(alice, chat.id))).toEqual([
      'Alice Liddell added Carol',
      'Carol left',
    ]);
  });

  it('renaming leaves a line with the new name; the same name again leaves none', async () => {
    const { alice, bob, chat } = await setup();
    const bobSocket = await connect(server.url, bob.token);
    const bobMessages = record(bobSocket, 'message:new');
    const renamed = await rename(alice, chat.id, 'Mad tea party');
    expect(renamed.status).toBe(200);
    expect(renamed.body.last_message).toMatchObject({
      seq: 1,
      version: 1,
      content: 'Alice Liddell renamed the group to “Mad tea party”',
    });
    expect((await rename(alice, chat.id, 'Mad tea party')).status).toBe(200);
    await settle(bobSocket);
    expect(bobMessages.map((m) => m.content)).toEqual([
      'Alice Liddell renamed the group to “Mad tea party”',
    ]);
    expect((await chatOf(bob, chat.id)).version).toBe(1);
  });

  it('uses the display names of the moment', async () => {
    const { alice, carol, chat } = await setup();
    expect((await alice.api.patch('/auth/me', { displayName: 'Queen Alice' })).status).toBe(200);
    expect((await add(alice, chat.id, carol)).status).toBe(201);
    expect(lines(await history(alice, chat.id))).toEqual(['Queen Alice added Carol']);
  });

  it('a refused change leaves no line and takes no seq or version', async () => {
    const { alice, bob, carol, chat } = await setup();
    await send(alice, chat.id, 'one');
    expect((await add(alice, chat.id, bob)).status).toBe(409); // already in
    expect((await add(bob, chat.id, carol)).status).toBe(403); // a member cannot add
    expect((await remove(bob, chat.id, alice)).status).toBe(403); // nor remove the owner
    expect((await remove(alice, chat.id, carol)).status).toBe(404); // not a participant
    expect((await rename(bob, chat.id, 'Mine now')).status).toBe(403);
    const two = await send(alice, chat.id, 'two');
    expect([two.seq, two.version]).toEqual([2, 2]);
    expect(lines(await history(alice, chat.id))).toEqual([]);
  });

  it('keeps seq and version gapless when lines and sends race', async () => {
    const { alice, bob, carol, chat } = await setup();
    const others = await Promise.all(
      ['Dodo', 'Hatter', 'Hare'].map((displayName) => registerUser(server.url, { displayName })),
    );
    await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => send(i % 2 ? alice : bob, chat.id, `m${i}`)),
      add(alice, chat.id, carol),
      ...others.map((u) => add(alice, chat.id, u)),
      rename(alice, chat.id, 'Busy'),
    ]);
    // Bob leaves while Carol writes: the two wait on the same chat row, one after the other.
    await Promise.all([remove(bob, chat.id, bob), send(carol, chat.id, 'after')]);
    const all = await history(alice, chat.id);
    expect(all.map((m) => m.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect([...all.map((m) => m.version)].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 13 }, (_, i) => i + 1),
    );
    expect(lines(all).sort()).toEqual(
      [
        'Alice Liddell added Carol',
        'Alice Liddell added Dodo',
        'Alice Liddell added Hatter',
        'Alice Liddell added Hare',
        'Alice Liddell renamed the group to “Busy”',
        'Bob left',
      ].sort(),
    );
    expect((await chatOf(alice, chat.id)).version).toBe(13);
  });

  it('cannot be edited, not even by the one it names as sender', async () => {
    const { alice, carol, chat } = await setup();
    const added = await add(alice, chat.id, carol);
    const line = added.body.last_message!;
    const res = await alice.api.patch<ErrorResponse>(`/chats/${chat.id}/messages/${line.id}`, {
      content: 'Alice Liddell added the Queen',
    });
    expect([res.status, res.body.error.code]).toEqual([403, 'forbidden']);
    // Nor by anyone else: forbidden, as any message of someone else's.
    const other = await carol.api.patch<ErrorResponse>(`/chats/${chat.id}/messages/${line.id}`, {
      content: 'Carol added the Queen',
    });
    expect([other.status, other.body.error.code]).toEqual([403, 'forbidden']);
    expect(lines(await history(carol, chat.id))).toEqual(['Alice Liddell added Carol']);
  });

  it('cannot be sent by a client', async () => {
    const { alice, chat } = await setup();
    const socket = await connect(server.url, alice.token);
    const ack = await emitAck(socket, 'message:send', {
      chatId: chat.id,
      content: 'Alice Liddell added the Queen',
      messageType: 'system',
    });
    expect(ack).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(await history(alice, chat.id)).toEqual([]);
  });
});
