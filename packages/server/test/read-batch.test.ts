import { randomUUID } from 'node:crypto';
import type { Chat, Message } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MessagesRepository,
  type NewRead,
  type ReadMark,
} from '../src/repositories/messages.repository.js';
import {
  closeSockets,
  connect,
  createDirect,
  createGroup,
  registerUser,
  registerUsers,
  sendMessage,
  type ClientSocket,
  type TestUser,
} from './helpers/client.js';
import { startServer, type TestServer } from './helpers/server.js';

// Read marks that arrive while a flush runs are made by one statement (`markManyRead`). Whatever
// the batch holds (one reader's reads in any order, repeats, refusals of every kind side by side),
// each read must be answered, and the marks must end, exactly as if the reads had been made one
// after another in the order they came. Two chats of the same shape: the batch on one, the same
// reads one by one on the other, and the answers and the marks compared.
let server: TestServer;
let repo: MessagesRepository;

beforeAll(async () => {
  server = await startServer({}, { nodes: 1 });
  repo = new MessagesRepository(server.app.database.db, () => {
    throw new Error('these messages carry no attachments');
  });
});
afterAll(async () => {
  closeSockets();
  await server.close();
});

interface Scene {
  chat: Chat;
  /** The chat's messages in seq order: the owner's 1 and 2, Carol's 3, the owner's 4 and 5. */
  sent: Message[];
  direct: Chat;
  directSent: Message[];
  /** The scene's own: the other side of the direct chat. */
  blocker: TestUser;
}

/** A user as the comparison names them: the blockers of the two scenes are one role. */
const who = (s: Scene, userId: string) => (userId === s.blocker.user.id ? 'blocker' : userId);

async function stored(socket: ClientSocket, chatId: string, content: string): Promise<Message> {
  const ack = await sendMessage(socket, { chatId, content });
  if (!ack.ok) throw new Error(`send refused: ${ack.error.code}`);
  return ack.message;
}

async function scene(owner: TestUser, bob: TestUser, carol: TestUser) {
  // A blocker of each scene's own: a second direct chat of the same pair would be the first.
  const blocker = await registerUser(server.url);
  const chat = await createGroup(owner, [bob, carol]);
  const direct = await createDirect(blocker, bob);
  const [o, c, k] = await Promise.all([
    connect(server.url, owner.token),
    connect(server.url, carol.token),
    connect(server.url, blocker.token),
  ]);
  const sent: Message[] = [];
  for (const [socket, text] of [
    [o, 'one'],
    [o, 'two'],
    [c, 'three'],
    [o, 'four'],
    [o, 'five'],
  ] as const) {
    sent.push(await stored(socket, chat.id, text));
  }
  const directSent = [await stored(k, direct.id, 'hi')];
  // Bob is blocked in the direct chat: his mark there still moves, silenced.
  expect((await blocker.api.request('PUT', `/users/${bob.user.id}/block`)).status).toBe(204);
  return { chat, sent, direct, directSent, blocker } satisfies Scene;
}

/** The batch's reads, by Bob unless said: every kind of answer, in an order that tests the mark. */
function reads(s: Scene, bob: TestUser, carol: TestUser, outsider: TestUser): NewRead[] {
  const read = (user: TestUser, chatId: string, messageId: string) => ({
    chatId,
    userId: user.user.id,
    messageId,
  });
  const [, m2, m3, m4, m5] = s.sent;
  return [
    read(bob, s.chat.id, m3!.id), // moves to 3
    read(bob, s.chat.id, m2!.id), // below the mark: no move
    read(carol, s.chat.id, m4!.id), // another reader, whose mark is her own message's 3: to 4
    read(bob, s.chat.id, m3!.id), // the same again: no move
    read(bob, s.chat.id, m5!.id), // moves to 5
    read(bob, s.chat.id, m4!.id), // below the mark now
    read(outsider, s.chat.id, m5!.id), // not a participant
    read(bob, randomUUID(), m5!.id), // no such chat
    read(bob, s.chat.id, randomUUID()), // no such message
    read(bob, s.chat.id, s.directSent[0]!.id), // a message of another chat
    read(carol, s.chat.id, m5!.id), // moves to 5
    read(bob, s.direct.id, s.directSent[0]!.id), // silenced, but moves
  ];
}

/** Every participant's mark in the chats of a scene. */
async function marks(s: Scene): Promise<Record<string, number>> {
  const rows = await server.app.database.db
    .selectFrom('chat_participants')
    .select(['chat_id', 'user_id', 'last_read_seq'])
    .where('chat_id', 'in', [s.chat.id, s.direct.id])
    .execute();
  return Object.fromEntries(
    rows.map((r) => [
      `${r.chat_id === s.chat.id ? 'group' : 'direct'}:${who(s, r.user_id)}`,
      r.last_read_seq,
    ]),
  );
}

const readsRecorded = async (s: Scene) =>
  (
    await server.app.database.db
      .selectFrom('message_reads')
      .innerJoin('messages', 'messages.id', 'message_reads.message_id')
      .select(['messages.seq', 'message_reads.user_id'])
      .where('messages.chat_id', 'in', [s.chat.id, s.direct.id])
      .orderBy('messages.seq')
      .orderBy('message_reads.user_id')
      .execute()
  ).map((r) => `${r.seq}:${who(s, r.user_id)}`);

describe('read marks made together', () => {
  it('answer and move the marks exactly as the same reads made one by one', async () => {
    const [owner, bob, carol, outsider] = await registerUsers(server.url, 4);
    const batchScene = await scene(owner, bob, carol);
    const aloneScene = await scene(owner, bob, carol);

    const batch = await repo.markManyRead(reads(batchScene, bob, carol, outsider));
    const alone: ReadMark[] = [];
    for (const r of reads(aloneScene, bob, carol, outsider)) alone.push(await repo.markOneRead(r));

    expect(batch).toEqual(alone);
    expect(batch.map((m) => m.moved)).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
      false,
      false,
      false,
      false,
      true,
      true,
    ]);
    expect(batch[6]).toMatchObject({ chat: true, role: null }); // the outsider
    expect(batch[7]).toMatchObject({ chat: false, seq: null });
    expect(batch[8]).toMatchObject({ chat: true, role: 'member', seq: null });
    expect(batch[9]).toMatchObject({ chat: true, seq: null });
    expect(batch[11]).toMatchObject({ silenced: true, moved: true, seq: 1 });

    const [batchMarks, aloneMarks] = [await marks(batchScene), await marks(aloneScene)];
    expect(batchMarks).toEqual(aloneMarks);
    expect(batchMarks[`group:${bob.user.id}`]).toBe(5);
    expect(batchMarks[`group:${carol.user.id}`]).toBe(5);
    expect(batchMarks[`direct:${bob.user.id}`]).toBe(1);
    expect(await readsRecorded(batchScene)).toEqual(await readsRecorded(aloneScene));
  });
});
