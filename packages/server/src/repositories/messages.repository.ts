import { sql, type Kysely, type Transaction } from 'kysely';
import type { Message, UserSummary } from '@parley/protocol';
import type { DB } from '../db/schema.js';
import { toMessage, type MessageRecord } from './mappers.js';

export interface NewMessage {
  chatId: string;
  sender: UserSummary;
  content: string;
  messageType: Message['message_type'];
  clientMessageId: string | null;
}

/** What a change under the chat's lock came to; anything but `changed` stored nothing. */
export type ChangeResult<T> =
  | { status: 'changed'; value: T }
  /** The message is a tombstone already. */
  | { status: 'deleted' }
  /** The edit would store the content the message holds. */
  | { status: 'unchanged' }
  /** No such message in the chat (deleted with its chat meanwhile). */
  | { status: 'missing' };

export interface Tombstone {
  seq: number;
  version: number;
  deletedAt: Date;
}

/** Thrown to roll a transaction back when the change turned out to store nothing. */
class Unchanged extends Error {
  constructor(readonly result: ChangeResult<unknown>) {
    super('nothing to change');
  }
}

const MESSAGE_COLUMNS = [
  'm.id',
  'm.chat_id',
  'm.seq',
  'm.sender_id',
  'm.message_type',
  'm.created_at',
  'm.edited_at',
  'm.deleted_at',
  'm.version',
] as const;

/**
 * PGlite decodes each text value with a default TextDecoder, which drops a leading U+FEFF.
 * Text the client chose (content, clientMessageId) must come back exactly as sent, so it is
 * read with one guard character in front, removed in `rowToMessage`. Costs a byte per value.
 */
const GUARDED_TEXT = [
  sql<string>`'.' || m.content`.as('content'),
  sql<string | null>`'.' || m.client_message_id`.as('client_message_id'),
] as const;
const unguard = <T extends string | null>(s: T): T => (s === null ? s : (s.slice(1) as T));

export class MessagesRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * The hot path, in one statement and so one round trip: check membership, take the chat's next
   * seq and version under its row lock, insert, bump `updated_at`, move the sender's read mark, return the row.
   * Returns undefined when the sender is not a participant (or the chat does not exist), or in a
   * direct chat whose other participant blocked them.
   *
   * The time is taken under the row lock and never goes back, so `created_at` follows `seq` (a
   * transaction's now() would be its start, before a wait on the lock).
   *
   * A repeated clientMessageId makes the INSERT violate messages_client_message_id_key, and the
   * whole statement rolls back, counter bump included: no gap in seq, even when two copies race
   * (the second waits on the chat row, then conflicts). The caller then reads the first copy.
   */
  async insert(m: NewMessage): Promise<Message | undefined> {
    const { rows } = await sql<Omit<MessageRecord, 'content' | 'client_message_id'>>`
      WITH bumped AS (
        UPDATE chats SET last_seq = last_seq + 1, version = version + 1,
          updated_at = GREATEST(updated_at, clock_timestamp())
        WHERE id = ${m.chatId}
          AND EXISTS (SELECT 1 FROM chat_participants WHERE chat_id = ${m.chatId} AND user_id = ${m.sender.id})
          AND (direct_key IS NULL OR NOT EXISTS (
            SELECT 1 FROM user_blocks b JOIN chat_participants o ON o.user_id = b.blocker_id
            WHERE b.blocked_id = ${m.sender.id} AND o.chat_id = ${m.chatId}))
        RETURNING last_seq, version, updated_at
      ), inserted AS (
        INSERT INTO messages (chat_id, seq, sender_id, content, message_type, client_message_id, created_at, version)
        SELECT ${m.chatId}, last_seq, ${m.sender.id}, ${m.content}, ${m.messageType}, ${m.clientMessageId}, updated_at, version
        FROM bumped
        RETURNING id, chat_id, seq, sender_id, message_type, created_at, edited_at, deleted_at, version
      ), marked AS (
        UPDATE chat_participants p SET last_read_seq = i.seq, last_read_at = i.created_at
        FROM inserted i
        WHERE p.chat_id = i.chat_id AND p.user_id = i.sender_id AND p.last_read_seq < i.seq
      )
      SELECT * FROM inserted`.execute(this.db);
    const row = rows[0];
    // Content and clientMessageId are what was just stored: no need to read them back.
    return (
      row &&
      toMessage({ ...row, content: m.content, client_message_id: m.clientMessageId }, m.sender)
    );
  }

  async findByClientMessageId(
    chatId: string,
    senderId: string,
    clientMessageId: string,
  ): Promise<Message | undefined> {
    const rows = await this.withSender()
      .where('m.chat_id', '=', chatId)
      .where('m.sender_id', '=', senderId)
      .where('m.client_message_id', '=', clientMessageId)
      .execute();
    return rows.map(rowToMessage)[0];
  }

  async findSeq(chatId: string, messageId: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('messages')
      .select('seq')
      .where('id', '=', messageId)
      .where('chat_id', '=', chatId)
      .executeTakeFirst();
    return row?.seq;
  }

  /**
   * A page of history in seq order. `after`: the oldest `limit` above the cursor; otherwise the
   * newest `limit` below `before` (or below nothing: the latest). One row more than asked tells
   * whether there is more.
   */
  async page(
    chatId: string,
    cursor: { after: number } | { before: number } | null,
    limit: number,
  ): Promise<{ messages: Message[]; hasMore: boolean }> {
    let q = this.withSender().where('m.chat_id', '=', chatId);
    if (cursor && 'after' in cursor) {
      q = q.where('m.seq', '>', cursor.after).orderBy('m.seq', 'asc');
    } else {
      if (cursor) q = q.where('m.seq', '<', cursor.before);
      q = q.orderBy('m.seq', 'desc');
    }
    const rows = await q.limit(limit + 1).execute();
    const hasMore = rows.length > limit;
    const messages = rows.slice(0, limit).map(rowToMessage);
    if (!(cursor && 'after' in cursor)) messages.reverse();
    return { messages, hasMore };
  }

  /**
   * Every message of the chat whose version is above `since`, tombstones included, in version
   * order: what a client that holds `since` has missed. One row more than asked tells whether
   * there is more. `since` is compared as a bigint: a client may hold any whole number.
   */
  async changes(
    chatId: string,
    since: number,
    limit: number,
  ): Promise<{ messages: Message[]; hasMore: boolean }> {
    const rows = await this.withSender()
      .where('m.chat_id', '=', chatId)
      .where(sql<boolean>`m.version > ${since}::bigint`)
      .orderBy('m.version', 'asc')
      .limit(limit + 1)
      .execute();
    return { messages: rows.slice(0, limit).map(rowToMessage), hasMore: rows.length > limit };
  }

  /** One message of the chat, with its sender; undefined when the chat holds no such message. */
  async find(chatId: string, messageId: string): Promise<Message | undefined> {
    const rows = await this.withSender()
      .where('m.chat_id', '=', chatId)
      .where('m.id', '=', messageId)
      .execute();
    return rows.map(rowToMessage)[0];
  }

  /**
   * Replaces the content in one transaction: the chat's version is bumped first, under its row
   * lock, which every change to the chat's messages takes, so versions have no gaps and the checks
   * that follow cannot race another edit or delete. A message deleted or already holding this
   * content meanwhile rolls the bump back. The previous content goes to the edit history, with
   * the time it was replaced.
   */
  async edit(chatId: string, messageId: string, content: string): Promise<ChangeResult<Message>> {
    return this.underChatLock<Message>(chatId, messageId, async (tx, version, current) => {
      if (current.deleted_at !== null) return { status: 'deleted' };
      if (unguard(current.content) === content) return { status: 'unchanged' };
      const { rows } = await sql<{ edited_at: Date }>`
        WITH replaced AS (
          UPDATE messages SET content = ${content}, edited_at = clock_timestamp(), version = ${version}
          WHERE id = ${messageId}
          RETURNING edited_at
        )
        INSERT INTO message_edits (message_id, content, edited_at)
        SELECT ${messageId}, ${unguard(current.content)}, edited_at FROM replaced
        RETURNING edited_at`.execute(tx);
      if (!rows[0]) throw new Error('the locked message vanished');
      return { status: 'changed', value: await this.findIn(tx, chatId, messageId) };
    });
  }

  /**
   * Leaves a tombstone (same id and seq, content "", deleted_at set, edit history gone) under the
   * chat's row lock, as `edit` does. A message deleted already rolls the version bump back.
   */
  async delete(chatId: string, messageId: string): Promise<ChangeResult<Tombstone>> {
    return this.underChatLock<Tombstone>(chatId, messageId, async (tx, version, current) => {
      if (current.deleted_at !== null) return { status: 'deleted' };
      const row = await tx
        .updateTable('messages')
        .set({ content: '', deleted_at: sql`clock_timestamp()`, version })
        .where('id', '=', messageId)
        .returning(['seq', 'version', 'deleted_at'])
        .executeTakeFirstOrThrow();
      await tx.deleteFrom('message_edits').where('message_id', '=', messageId).execute();
      return {
        status: 'changed',
        value: { seq: row.seq, version: row.version, deletedAt: row.deleted_at ?? new Date() },
      };
    });
  }

  /** The earlier contents of a message, oldest first, each with the time it was replaced. */
  async edits(messageId: string): Promise<{ content: string; editedAt: Date }[]> {
    const rows = await this.db
      .selectFrom('message_edits as e')
      .select([sql<string>`'.' || e.content`.as('content'), 'e.edited_at'])
      .where('e.message_id', '=', messageId)
      .orderBy('e.id', 'asc')
      .execute();
    return rows.map((r) => ({ content: unguard(r.content), editedAt: r.edited_at }));
  }

  /**
   * Runs `change` in a transaction that has bumped the chat's version under its row lock and
   * read the message; a result other than `changed` rolls the bump back (no gap).
   */
  private async underChatLock<T>(
    chatId: string,
    messageId: string,
    change: (
      tx: Transaction<DB>,
      version: number,
      current: { content: string; deleted_at: Date | null },
    ) => Promise<ChangeResult<T>>,
  ): Promise<ChangeResult<T>> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const bumped = await tx
          .updateTable('chats')
          .set((eb) => ({ version: eb('version', '+', 1) }))
          .where('id', '=', chatId)
          .returning('version')
          .executeTakeFirst();
        const current = await tx
          .selectFrom('messages as m')
          .select(['m.deleted_at', sql<string>`'.' || m.content`.as('content')])
          .where('m.id', '=', messageId)
          .where('m.chat_id', '=', chatId)
          .executeTakeFirst();
        const result: ChangeResult<T> =
          bumped && current ? await change(tx, bumped.version, current) : { status: 'missing' };
        if (result.status !== 'changed') throw new Unchanged(result);
        return result;
      });
    } catch (err) {
      if (err instanceof Unchanged) return err.result as ChangeResult<T>;
      throw err;
    }
  }

  private async findIn(tx: Transaction<DB>, chatId: string, messageId: string): Promise<Message> {
    const row = await withSenderOn(tx)
      .where('m.chat_id', '=', chatId)
      .where('m.id', '=', messageId)
      .executeTakeFirstOrThrow();
    return rowToMessage(row);
  }

  /** The newest message of each chat, keyed by chat id. */
  async latest(chatIds: readonly string[]): Promise<Map<string, Message>> {
    if (chatIds.length === 0) return new Map();
    const rows = await this.withSender()
      .innerJoin('chats as c', (j) =>
        j.onRef('c.id', '=', 'm.chat_id').onRef('c.last_seq', '=', 'm.seq'),
      )
      .where('c.id', 'in', [...chatIds])
      .execute();
    return new Map(rows.map((r) => [r.chat_id, rowToMessage(r)]));
  }

  /** Other people's messages above the user's read mark, per chat. */
  async unreadCounts(userId: string, chatIds: readonly string[]): Promise<Map<string, number>> {
    if (chatIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('chat_participants as p')
      .innerJoin('messages as m', (j) =>
        j.onRef('m.chat_id', '=', 'p.chat_id').onRef('m.seq', '>', 'p.last_read_seq'),
      )
      .select(['p.chat_id', sql<number>`count(*)::int`.as('unread')])
      .where('p.user_id', '=', userId)
      .where('p.chat_id', 'in', [...chatIds])
      .where('m.sender_id', '<>', userId)
      .groupBy('p.chat_id')
      .execute();
    return new Map(rows.map((r) => [r.chat_id, r.unread]));
  }

  /** Unread counts of one chat for each of its participants: a broadcast shows each their own. */
  async unreadByParticipant(chatId: string): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('chat_participants as p')
      .leftJoin('messages as m', (j) =>
        j
          .onRef('m.chat_id', '=', 'p.chat_id')
          .onRef('m.seq', '>', 'p.last_read_seq')
          .onRef('m.sender_id', '<>', 'p.user_id'),
      )
      .select(['p.user_id', sql<number>`count(m.id)::int`.as('unread')])
      .where('p.chat_id', '=', chatId)
      .groupBy('p.user_id')
      .execute();
    return new Map(rows.map((r) => [r.user_id, r.unread]));
  }

  /**
   * Moves the reader's mark up to `seq`, never back. True when it moved (and only then is the
   * read announced). The read is also recorded per message, as the design's message_reads has it.
   */
  async markRead(chatId: string, userId: string, messageId: string, seq: number): Promise<boolean> {
    const { rows } = await sql<{ moved: boolean }>`
      WITH moved AS (
        UPDATE chat_participants SET last_read_seq = ${seq}, last_read_at = now()
        WHERE chat_id = ${chatId} AND user_id = ${userId} AND last_read_seq < ${seq}
        RETURNING 1
      ), recorded AS (
        INSERT INTO message_reads (message_id, user_id) SELECT ${messageId}, ${userId} FROM moved
        ON CONFLICT DO NOTHING
      )
      SELECT EXISTS (SELECT 1 FROM moved) AS moved`.execute(this.db);
    return rows[0]?.moved === true;
  }

  private withSender() {
    return withSenderOn(this.db);
  }
}

/** Messages joined with their senders, on the pool or inside a transaction. */
function withSenderOn(db: Kysely<DB>) {
  {
    return db
      .selectFrom('messages as m')
      .innerJoin('users as u', 'u.id', 'm.sender_id')
      .select([
        ...MESSAGE_COLUMNS,
        ...GUARDED_TEXT,
        'u.username',
        'u.display_name',
        'u.avatar_url',
      ]);
  }
}

function rowToMessage(
  r: MessageRecord & { username: string; display_name: string; avatar_url: string | null },
): Message {
  const record = {
    ...r,
    content: unguard(r.content),
    client_message_id: unguard(r.client_message_id),
  };
  return toMessage(record, {
    id: r.sender_id,
    username: r.username,
    display_name: r.display_name,
    avatar_url: r.avatar_url,
  });
}
