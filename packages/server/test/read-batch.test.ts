import { randomUUID } from 'node:crypto';
import type { Chat, Message } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatsRepository } from '../src/repositories/chats.repository.js';
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
/** `users`: the owner, Bob, Carol and an outsider. */
function reads(s: Scene, users: readonly TestUser[]): NewRead[] {
  const [owner, bob, carol, outsider] = users as [TestUser, TestUser, TestUser, TestUser];
  const read = (user: TestUser, chatId: string, messageId: string) => ({
    chatId,
    userId: user.user.id,
    messageId,
  });
  const [, m2, m3, m4, m5] = s.sent;
  return [
    read(carol, s.chat.id, m2!.id), // below her stored mark, her own message's 3: no move
    read(carol, s.chat.id, m3!.id), // her own message, at the mark: no move
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
    read(owner, s.chat.id, m4!.id), // the sender of 5, whose mark is 5: no move
    read(owner, s.chat.id, m5!.id), // their own last message: no move
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
    const users = await registerUsers(server.url, 4);
    const [owner, bob, carol] = users;
    const batchScene = await scene(owner, bob, carol);
    const aloneScene = await scene(owner, bob, carol);

    const batch = await repo.markManyRead(reads(batchScene, users));
    const alone: ReadMark[] = [];
    for (const r of reads(aloneScene, users)) alone.push(await repo.markOneRead(r));

    expect(batch).toEqual(alone);
    // prettier-ignore
    expect(batch.map((m) => m.moved)).toEqual([
      false, false, true, false, true, false, true, false, false, false, false, false, true, true,
      false, false,
    ]);
    expect(batch[8]).toMatchObject({ chat: true, role: null }); // the outsider
    expect(batch[9]).toMatchObject({ chat: false, seq: null });
    expect(batch[10]).toMatchObject({ chat: true, role: 'member', seq: null });
    expect(batch[11]).toMatchObject({ chat: true, seq: null });
    expect(batch[13]).toMatchObject({ silenced: true, moved: true, seq: 1 });
    expect(batch[15]).toMatchObject({ role: 'owner', seq: 5, moved: false });

    const [batchMarks, aloneMarks] = [await marks(batchScene), await marks(aloneScene)];
    expect(batchMarks).toEqual(aloneMarks);
    expect(batchMarks[`group:${bob.user.id}`]).toBe(5);
    expect(batchMarks[`group:${carol.user.id}`]).toBe(5);
    expect(batchMarks[`direct:${bob.user.id}`]).toBe(1);
    expect(await readsRecorded(batchScene)).toEqual(await readsRecorded(aloneScene));
  });
});

describe('read marks made together, beside sends and removals', () => {
  // On PostgreSQL a read batch, a send batch and a removal run side by side on connections of
  // their own, each locking several participant rows: in any but one shared order two of them
  // could each hold a row the other waits for, and PostgreSQL would end one with a deadlock
  // (40P01) after a second. Each round runs all of them at once over the same rows, the reads in
  // both orders; every one must succeed. (On PGlite they take turns: the same answers.)
  it('never deadlock: every batch and every removal succeeds', async () => {
    const owner = await registerUser(server.url);
    const members = await Promise.all(Array.from({ length: 30 }, () => registerUser(server.url)));
    const chat = await createGroup(owner, members);
    const chats = new ChatsRepository(server.app.database.db);
    const summary = (u: TestUser) => ({ ...u.user, avatar_url: null });
    const send = (u: TestUser, content: string) => ({
      chatId: chat.id,
      sender: summary(u),
      content,
      messageType: 'text' as const,
      clientMessageId: null,
      replyToId: null,
      attachmentIds: null,
    });
    let present = [...members];
    let last = (
      await repo.insertMany([send(members[0]!, 'first'), send(members[1]!, 'second')])
    )[1]!;
    const seen = new Map<string, number>();
    for (let round = 0; round < 25 && present.length > 2; round++) {
      const [leaving, ...staying] = present;
      // The owner reads too, and is the removal's actor: its line moves the owner's mark.
      const readers = [owner, ...present];
      const readsOf = (order: TestUser[]) =>
        order.map((u) => ({ chatId: chat.id, userId: u.user.id, messageId: last.id }));
      const byId = [...readers].sort((a, b) => a.user.id.localeCompare(b.user.id));
      const results = await Promise.allSettled([
        repo.insertMany(staying.slice(0, 4).map((u, k) => send(u, `round ${round} ${k}`))),
        repo.markManyRead(readsOf(byId)),
        repo.markManyRead(readsOf([...byId].reverse())),
        chats.removeParticipant(chat.id, leaving!.user.id, {
          sender: summary(owner),
          content: `${owner.user.display_name} removed ${leaving!.user.display_name}`,
        }),
      ]);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const stored = (results[0] as PromiseFulfilledResult<(Message | undefined)[]>).value;
      for (const u of readers) seen.set(u.user.id, Math.max(seen.get(u.user.id) ?? 0, last.seq));
      last = stored.at(-1)!;
      present = staying;
    }
    // Every reader still in the chat has read at least what each round showed them.
    const rows = await server.app.database.db
      .selectFrom('chat_participants')
      .select(['user_id', 'last_read_seq'])
      .where('chat_id', '=', chat.id)
      .execute();
    expect(rows.length).toBe(present.length + 1);
    for (const row of rows)
      expect(row.last_read_seq).toBeGreaterThanOrEqual(seen.get(row.user_id)!);
  });
});
