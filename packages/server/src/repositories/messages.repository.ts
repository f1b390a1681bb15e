import { sql, type Kysely } from 'kysely';
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

const MESSAGE_COLUMNS = [
  'm.id',
  'm.chat_id',
  'm.seq',
  'm.sender_id',
  'm.message_type',
  'm.created_at',
  'm.edited_at',
  'm.deleted_at',
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
   * seq under its row lock, insert, bump `updated_at`, move the sender's read mark, return the row.
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
        UPDATE chats SET last_seq = last_seq + 1, updated_at = GREATEST(updated_at, clock_timestamp())
        WHERE id = ${m.chatId}
          AND EXISTS (SELECT 1 FROM chat_participants WHERE chat_id = ${m.chatId} AND user_id = ${m.sender.id})
          AND (direct_key IS NULL OR NOT EXISTS (
            SELECT 1 FROM user_blocks b JOIN chat_participants o ON o.user_id = b.blocker_id
            WHERE b.blocked_id = ${m.sender.id} AND o.chat_id = ${m.chatId}))
        RETURNING last_seq, updated_at
      ), inserted AS (
        INSERT INTO messages (chat_id, seq, sender_id, content, message_type, client_message_id, created_at)
        SELECT ${m.chatId}, last_seq, ${m.sender.id}, ${m.content}, ${m.messageType}, ${m.clientMessageId}, updated_at
        FROM bumped
        RETURNING id, chat_id, seq, sender_id, message_type, created_at, edited_at, deleted_at
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
    return this.db
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
