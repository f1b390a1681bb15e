import { sql, type Kysely, type Transaction } from 'kysely';
import {
  mentionedNames,
  type Message,
  type Reaction,
  type Role,
  type UserSummary,
} from '@parley/protocol';
import type { DB } from '../db/schema.js';
import { executePrepared } from '../db/prepared.js';
import { underChatLock, type ChangeResult } from './chat-lock.js';
import { attachmentJson, ATTACHMENTS, type Discarded } from './attachments.repository.js';
import { blockedInDirectChat } from './blocks.repository.js';
import {
  toMessage,
  type AttachmentLinker,
  type AttachmentRecord,
  type MessageRecord,
} from './mappers.js';
import { GroupCommit, type Pending } from './group-commit.js';
import { newMessageId } from './ids.js';

/** A read mark to make: `userId` has read `messageId` of `chatId`. */
export interface NewRead {
  chatId: string;
  userId: string;
  messageId: string;
}

/** The most read marks one statement takes (`markManyRead`). */
const READ_BATCH_MAX = 512;

/** What `markRead` found and did. */
export interface ReadMark {
  /** The chat exists. */
  chat: boolean;
  /** The reader's role in it; null when not a participant. */
  role: Role | null;
  silenced: boolean;
  /** The message's seq; null when it is no message of the chat. */
  seq: number | null;
  /** The reader's mark moved up to `seq`. */
  moved: boolean;
}

export interface NewMessage {
  chatId: string;
  sender: UserSummary;
  content: string;
  messageType: Message['message_type'];
  clientMessageId: string | null;
  /** The answered message: the statement stores nothing unless it is one of the same chat. */
  replyToId: string | null;
  /**
   * Attachments to claim, in order: the statement stores nothing unless every one is the
   * sender's, of this chat, finished and unsent. With them, `messageType` is decided here:
   * `image` when every one is an image, else `file`.
   */
  attachmentIds: readonly string[] | null;
}

export interface Tombstone {
  seq: number;
  version: number;
  deletedAt: Date;
  /** The message's attachments, marked discarded: their files go after the commit. */
  discarded: Discarded[];
}

/** The columns every send's statement returns; the rest of the stored message is what was sent. */
interface SentRow {
  id: string;
  chat_id: string;
  seq: number;
  version: number;
  created_at: Date;
  mentions: string[];
}

/**
 * What `insertOne`'s statement returns besides: the type and the attachments it decided
 * (attachments make an `image` or `file` message) and, for a reply only, the answered message's
 * preview.
 */
interface SentOneRow extends SentRow {
  message_type: Message['message_type'];
  attachments: AttachmentRecord[];
  reply_id?: string;
  reply_seq?: number;
  reply_sender_id?: string;
  /** Guarded, as `GUARDED_TEXT` says. */
  reply_content?: string;
  reply_deleted?: boolean;
}

/**
 * A message just stored, as a record: what was sent, and what its statement returned. Written
 * out key by key, never as `{ ...row, more }`: V8 (Node 20) gives an object built by spreading
 * and then adding keys a hidden class of its own each time, 5 to 18 µs apiece, which made this
 * the send path's costliest line (docs/PERFORMANCE.md).
 */
function sentRecord(
  m: Pick<NewMessage, 'sender' | 'content' | 'messageType' | 'clientMessageId'>,
  row: SentRow & Partial<SentOneRow>,
): MessageRecord {
  return {
    id: row.id,
    chat_id: row.chat_id,
    seq: row.seq,
    sender_id: m.sender.id,
    content: m.content,
    message_type: row.message_type ?? m.messageType,
    client_message_id: m.clientMessageId,
    created_at: row.created_at,
    edited_at: null,
    deleted_at: null,
    version: row.version,
    mentions: row.mentions,
    reactions: [],
    attachments: row.attachments ?? [],
    reply_id: row.reply_id ?? null,
    reply_seq: row.reply_seq ?? null,
    reply_sender_id: row.reply_sender_id ?? null,
    reply_content: unguard(row.reply_content ?? null),
    reply_deleted: row.reply_deleted ?? null,
  };
}

/** A reply preview holds the first 200 characters of the answered message. */
const REPLY_PREVIEW_LENGTH = 200;

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
  'm.mentions',
] as const;

/**
 * The aggregated reactions of the message `m`, in the order each emoji first appeared (its
 * `position`), users in the order they added it: one index lookup per message inside the same
 * statement, never a query per message.
 */
const REACTIONS = sql<Reaction[]>`(
  SELECT coalesce(
    json_agg(json_build_object('emoji', g.emoji, 'count', g.n, 'user_ids', g.user_ids) ORDER BY g.pos),
    '[]'::json)
  FROM (
    SELECT r.emoji, count(*)::int AS n, min(r.position) AS pos,
      array_agg(r.user_id ORDER BY r.created_at, r.user_id) AS user_ids
    FROM message_reactions r WHERE r.message_id = m.id GROUP BY r.emoji
  ) g)`.as('reactions');

/** What a reply shows of the answered message (`r`), guarded like GUARDED_TEXT. */
const REPLY_COLUMNS = [
  'r.id as reply_id',
  'r.seq as reply_seq',
  'r.sender_id as reply_sender_id',
  sql<string | null>`'.' || left(r.content, ${REPLY_PREVIEW_LENGTH})`.as('reply_content'),
  sql<boolean | null>`r.deleted_at IS NOT NULL`.as('reply_deleted'),
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

/** The most sends one group-commit statement carries. */
const SEND_BATCH_MAX = 256;

/** A send that answers nothing and carries nothing: the kind a batch statement can take. */
const isPlain = (m: NewMessage): boolean =>
  m.replyToId === null && (m.attachmentIds === null || m.attachmentIds.length === 0);

/**
 * A batch statement that failed on a constraint (23xxx: a copy of a clientMessageId that another
 * process stored meanwhile) or was rolled back by the server (40xxx: a deadlock, a serialization
 * failure) changed nothing: it runs once more (a send batch's new snapshot sees the copy and
 * leaves that send out), then, failing again, its entries are made one by one, each getting its
 * own answer.
 */
const isRetryableBatchError = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('23') || code.startsWith('40'));
};

/** A batch statement, run once more if it fails retryably; undefined if it fails so twice. */
async function twice<T>(batch: () => Promise<T>): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await batch();
    } catch (err) {
      if (!isRetryableBatchError(err)) throw err;
      if (attempt === 2) return undefined;
    }
  }
}

async function settle<O>(entry: Pending<unknown, O>, work: Promise<O>): Promise<void> {
  try {
    entry.resolve(await work);
  } catch (err) {
    entry.reject(err);
  }
}

/**
 * What group commit reports (metrics): each flush's size, sends' and reads', and which statement
 * stored a send.
 */
export interface GroupCommitStats {
  flushed(sends: number): void;
  /** `batch`: by a flush's one statement (`insertMany`); `alone`: by a statement of its own. */
  stored(by: 'batch' | 'alone', count: number): void;
  readsFlushed(reads: number): void;
}

const NO_STATS: GroupCommitStats = { flushed: () => {}, stored: () => {}, readsFlushed: () => {} };

export class MessagesRepository {
  /** Plain sends waiting for the statement in flight to return (see `insert`). */
  private readonly sends: GroupCommit<NewMessage, Message | undefined>;
  /** Read marks waiting for the statement in flight to return (see `markRead`). */
  private readonly reads: GroupCommit<NewRead, ReadMark>;

  constructor(
    private readonly db: Kysely<DB>,
    /** Signs the URLs of the attachments messages carry. */
    private readonly link: AttachmentLinker,
    private readonly stats: GroupCommitStats = NO_STATS,
  ) {
    this.sends = new GroupCommit((batch) => this.flushSends(batch), SEND_BATCH_MAX);
    this.reads = new GroupCommit((batch) => this.flushReads(batch), READ_BATCH_MAX);
  }

  /**
   * Stores a message: undefined when it may not be stored (see `insertOne`). Plain sends (no
   * reply, no attachments) go through group commit: those that arrive while the previous flush
   * runs are written together, by one statement (`insertMany`); a lone one at once, by its own.
   * A reply or a send with attachments takes its own statement beside them (the pool runs it
   * while a flush waits on a lock): one socket's sends are ordered by its handler, which starts a
   * send only once the previous one is answered.
   */
  insert(m: NewMessage): Promise<Message | undefined> {
    return isPlain(m) ? this.sends.submit(m) : this.insertAlone(m);
  }

  /** `insertOne`, counted in the metrics when it stored the message. */
  private async insertAlone(m: NewMessage): Promise<Message | undefined> {
    const message = await this.insertOne(m);
    if (message) this.stats.stored('alone', 1);
    return message;
  }

  private async flushSends(run: readonly Pending<NewMessage, Message | undefined>[]) {
    this.stats.flushed(run.length);
    const [first] = run;
    if (!first) return;
    if (run.length === 1) return settle(first, this.insertAlone(first.item));
    const sends = run.map((e) => e.item);
    const results = (await twice(() => this.insertMany(sends))) ?? [];
    this.stats.stored('batch', results.filter(Boolean).length);
    for (const [i, entry] of run.entries()) {
      const message = results[i];
      // What the batch did not store is sent again alone: the single statement's outcome (a
      // repeated clientMessageId's unique violation, or undefined) tells the service why.
      await settle(entry, message ? Promise.resolve(message) : this.insertAlone(entry.item));
    }
  }

  /**
   * Plain sends (no reply, no attachments) in one statement, so one round trip and one commit
   * for the lot: each chat's row is locked in id order (two batches never wait on each other in
   * a cycle; FOR NO KEY UPDATE, as the UPDATE's own lock, so that rows referencing the chat from
   * other transactions are no obstacle), its seq and version move up by the number of its sends that may be stored, and
   * those are inserted with consecutive seqs in the order given. A send is left out (undefined in
   * the answer, nothing taken for it) when its sender is no participant, is blocked in a direct
   * chat, or repeats a clientMessageId stored already or earlier in the batch: no gap in seq.
   * Mentions are resolved as `insertOne` resolves them; the sender's read mark moves to their last
   * message of the chat, their participant rows locked first in (chat, user) order, as
   * `markManyRead` locks the readers' (a read batch and a send batch run side by side on
   * PostgreSQL: in any other order they could each hold a row the other waits for).
   *
   * `OFFSET 0` keeps the check for a repeated clientMessageId a probe of its unique index per send:
   * without it PostgreSQL may hash the whole `messages` table instead, which a generic plan made
   * while the table was small (a new database's first sends) went on doing as it grew:
   * 4.5 ms for 20 sends, then 15 ms after 30,000 messages (docs/PERFORMANCE.md).
   *
   * The messages' ids are made here, as in `insertOne` and for system messages, by
   * `newMessageId` rather than the column's default (ids.ts says why). A send left out wastes its
   * id.
   */
  async insertMany(sends: readonly NewMessage[]): Promise<(Message | undefined)[]> {
    const { rows } = await executePrepared(
      this.db,
      'messages_insert_many',
      sql<SentRow & { ord: string | number }>`
      WITH items AS (
        SELECT * FROM unnest(
          ${sends.map(() => newMessageId())}::uuid[],
          ${sends.map((m) => m.chatId)}::uuid[], ${sends.map((m) => m.sender.id)}::uuid[],
          ${sends.map((m) => m.content)}::text[], ${sends.map((m) => m.messageType)}::text[],
          ${sends.map((m) => m.clientMessageId)}::text[],
          ${sends.map((m) => mentionedNames(m.content).join(' '))}::text[]
        ) WITH ORDINALITY AS t(id, chat_id, sender_id, content, message_type, client_message_id,
          names, ord)
      ), locked AS (
        SELECT id, direct_key FROM chats WHERE id IN (SELECT chat_id FROM items)
        ORDER BY id FOR NO KEY UPDATE
      ), accepted AS (
        SELECT i.*, row_number() OVER (PARTITION BY i.chat_id ORDER BY i.ord)::int AS n
        FROM items i JOIN locked l ON l.id = i.chat_id
        WHERE EXISTS (SELECT 1 FROM chat_participants
            WHERE chat_id = i.chat_id AND user_id = i.sender_id)
          AND (l.direct_key IS NULL
            OR NOT ${blockedInDirectChat(sql.ref('i.sender_id'), sql.ref('l.direct_key'))})
          AND (i.client_message_id IS NULL OR (
            NOT EXISTS (SELECT 1 FROM messages m WHERE m.chat_id = i.chat_id
              AND m.sender_id = i.sender_id AND m.client_message_id = i.client_message_id
              OFFSET 0)
            AND NOT EXISTS (SELECT 1 FROM items e WHERE e.chat_id = i.chat_id
              AND e.sender_id = i.sender_id AND e.client_message_id = i.client_message_id
              AND e.ord < i.ord)))
      ), counts AS (
        SELECT chat_id, count(*)::int AS k FROM accepted GROUP BY chat_id
      ), bumped AS (
        UPDATE chats c SET last_seq = c.last_seq + n.k, version = c.version + n.k,
          updated_at = GREATEST(c.updated_at, clock_timestamp())
        FROM counts n WHERE c.id = n.chat_id
        RETURNING c.id, c.last_seq - n.k AS base_seq, c.version - n.k AS base_version, c.updated_at
      ), planned AS (
        SELECT a.*, b.base_seq + a.n AS seq, b.base_version + a.n AS version,
          b.updated_at AS created_at
        FROM accepted a JOIN bumped b ON b.id = a.chat_id
      ), inserted AS (
        INSERT INTO messages (id, chat_id, seq, sender_id, content, message_type,
          client_message_id, created_at, version, reply_to_id, mentions)
        SELECT p.id, p.chat_id, p.seq, p.sender_id, p.content, p.message_type, p.client_message_id,
          p.created_at, p.version, NULL,
          CASE WHEN p.names = '' THEN '{}'::uuid[] ELSE ARRAY(
            SELECT o.user_id FROM chat_participants o JOIN users u ON u.id = o.user_id
            WHERE o.chat_id = p.chat_id AND o.user_id <> p.sender_id
              AND lower(u.username) = ANY(string_to_array(p.names, ' '))
            ORDER BY array_position(string_to_array(p.names, ' '), lower(u.username))) END
        FROM planned p
        RETURNING id, chat_id, seq, version, created_at, mentions
      ), last_sent AS (
        SELECT DISTINCT ON (chat_id, sender_id) chat_id, sender_id, seq, created_at
        FROM planned ORDER BY chat_id, sender_id, seq DESC
      ), senders AS (
        SELECT o.* FROM (SELECT chat_id, sender_id FROM last_sent ORDER BY chat_id, sender_id) x,
          LATERAL (SELECT chat_id, user_id FROM chat_participants
            WHERE chat_id = x.chat_id AND user_id = x.sender_id FOR NO KEY UPDATE) o
      ), marked AS (
        UPDATE chat_participants o SET last_read_seq = x.seq, last_read_at = x.created_at
        FROM last_sent x JOIN senders h ON h.chat_id = x.chat_id AND h.user_id = x.sender_id
        WHERE o.chat_id = x.chat_id AND o.user_id = x.sender_id AND o.last_read_seq < x.seq
      )
      SELECT p.ord, i.id, i.chat_id, i.seq, i.version, i.created_at, i.mentions
      FROM inserted i JOIN planned p ON p.chat_id = i.chat_id AND p.seq = i.seq`,
    );
    const stored: (Message | undefined)[] = new Array<Message | undefined>(sends.length);
    for (const row of rows) {
      const index = Number(row.ord) - 1;
      const m = sends[index];
      if (!m) continue;
      stored[index] = toMessage(sentRecord(m, row), m.sender, this.link);
    }
    return stored;
  }

  /**
   * One send in one statement and so one round trip: check membership, take the chat's next
   * seq and version under its row lock, insert, bump `updated_at`, move the sender's read mark, return the row.
   * Returns undefined when the sender is not a participant (or the chat does not exist), in a
   * direct chat whose other participant blocked them, or when `replyToId` is no message of the
   * chat. Mentions are resolved against the chat's participants in the same statement.
   *
   * The time is taken under the row lock and never goes back, so `created_at` follows `seq` (a
   * transaction's now() would be its start, before a wait on the lock).
   *
   * A repeated clientMessageId makes the INSERT violate messages_client_message_id_key, and the
   * whole statement rolls back, counter bump included: no gap in seq, even when two copies race
   * (the second waits on the chat row, then conflicts). The caller then reads the first copy.
   */
  async insertOne(m: NewMessage): Promise<Message | undefined> {
    // The common send names no one and answers nothing: those parts then cost nothing.
    const replyCheck =
      m.replyToId === null
        ? sql``
        : sql`AND EXISTS (SELECT 1 FROM messages WHERE id = ${m.replyToId} AND chat_id = ${m.chatId})`;
    const ids = m.attachmentIds ?? [];
    // The attachments are locked before the chat row: a racing send of the same ones waits here,
    // then finds them claimed (READ COMMITTED re-reads a locked row) and stores nothing.
    const attached = ids.length > 0;
    const locked = attached
      ? sql`locked AS (
          SELECT id, name, size, mime, kind, width, height, thumbnail_key
          FROM attachments
          WHERE id = ANY(${ids}::uuid[]) AND uploader_id = ${m.sender.id} AND chat_id = ${m.chatId}
            AND message_id IS NULL AND completed_at IS NOT NULL AND discarded_at IS NULL
          FOR UPDATE
        ),`
      : sql``;
    const lockedCheck = attached ? sql`AND (SELECT count(*) FROM locked) = ${ids.length}` : sql``;
    const messageType = attached
      ? sql`(SELECT CASE WHEN bool_and(kind = 'image') THEN 'image' ELSE 'file' END FROM locked)`
      : sql`${m.messageType}`;
    const claimed = attached
      ? sql`, claimed AS (
          UPDATE attachments a SET message_id = i.id, position = array_position(${ids}::uuid[], a.id)
          FROM inserted i WHERE a.id IN (SELECT id FROM locked)
        )`
      : sql``;
    const attachments = attached
      ? sql`(SELECT json_agg(${attachmentJson('l')} ORDER BY array_position(${ids}::uuid[], l.id))
          FROM locked l)`
      : sql`'[]'::json`;
    const statement = sql<SentOneRow>`
      WITH ${locked} bumped AS (
        UPDATE chats SET last_seq = last_seq + 1, version = version + 1,
          updated_at = GREATEST(updated_at, clock_timestamp())
        WHERE id = ${m.chatId}
          AND EXISTS (SELECT 1 FROM chat_participants WHERE chat_id = ${m.chatId} AND user_id = ${m.sender.id})
          AND (direct_key IS NULL OR NOT ${blockedInDirectChat(m.sender.id, sql.ref('chats.direct_key'))})
          ${replyCheck}
          ${lockedCheck}
        RETURNING last_seq, version, updated_at
      ), inserted AS (
        INSERT INTO messages (id, chat_id, seq, sender_id, content, message_type,
          client_message_id, created_at, version, reply_to_id, mentions)
        SELECT ${newMessageId()}::uuid, ${m.chatId}, last_seq, ${m.sender.id}, ${m.content},
          ${messageType}, ${m.clientMessageId}, updated_at, version, ${m.replyToId}::uuid,
          ${mentionsOf(m.chatId, m.sender.id, m.content)}
        FROM bumped
        RETURNING id, chat_id, seq, sender_id, message_type, created_at, version, mentions,
          reply_to_id
      ), marked AS (
        UPDATE chat_participants p SET last_read_seq = i.seq, last_read_at = i.created_at
        FROM inserted i
        WHERE p.chat_id = i.chat_id AND p.user_id = i.sender_id AND p.last_read_seq < i.seq
      ) ${claimed}
      ${
        m.replyToId === null
          ? sql`SELECT i.*, ${attachments} AS attachments FROM inserted i`
          : sql`SELECT i.*, ${attachments} AS attachments, r.id AS reply_id, r.seq AS reply_seq, r.sender_id AS reply_sender_id,
              '.' || left(r.content, ${REPLY_PREVIEW_LENGTH}) AS reply_content,
              r.deleted_at IS NOT NULL AS reply_deleted
            FROM inserted i JOIN messages r ON r.id = i.reply_to_id`
      }`;
    // The common send (no reply, no attachments, no mention) has one text: prepared, it is
    // planned once (a lone send's statement, where sends do not arrive together).
    const common = m.replyToId === null && !attached && mentionedNames(m.content).length === 0;
    const { rows } = common
      ? await executePrepared(this.db, 'messages_insert_one', statement)
      : await statement.execute(this.db);
    const row = rows[0];
    // Content and clientMessageId are what was just stored: no need to read them back.
    return row && toMessage(sentRecord(m, row), m.sender, this.link);
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
    return rows.map((r) => rowToMessage(r, this.link))[0];
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
    const messages = rows.slice(0, limit).map((r) => rowToMessage(r, this.link));
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
    return {
      messages: rows.slice(0, limit).map((r) => rowToMessage(r, this.link)),
      hasMore: rows.length > limit,
    };
  }

  /** One message of the chat, with its sender; undefined when the chat holds no such message. */
  async find(chatId: string, messageId: string): Promise<Message | undefined> {
    const rows = await this.withSender()
      .where('m.chat_id', '=', chatId)
      .where('m.id', '=', messageId)
      .execute();
    return rows.map((r) => rowToMessage(r, this.link))[0];
  }

  /**
   * Replaces the content in one transaction: the chat's version is bumped first, under its row
   * lock, which every change to the chat's messages takes, so versions have no gaps and the checks
   * that follow cannot race another edit or delete. A message deleted or already holding this
   * content meanwhile rolls the bump back. The previous content goes to the edit history, with
   * the time it was replaced.
   */
  async edit(
    chatId: string,
    messageId: string,
    actorId: string,
    content: string,
  ): Promise<ChangeResult<Message>> {
    return underChatLock<Message>(
      this.db,
      { chatId, messageId, actorId },
      async (tx, version, current) => {
        if (current.deleted_at !== null) return { status: 'deleted' };
        if (unguard(current.content) === content) return { status: 'unchanged' };
        const { rows } = await sql<{ edited_at: Date }>`
        WITH replaced AS (
          UPDATE messages SET content = ${content}, edited_at = clock_timestamp(), version = ${version},
            mentions = ${mentionsOf(chatId, current.sender_id, content)}
          WHERE id = ${messageId}
          RETURNING edited_at
        )
        INSERT INTO message_edits (message_id, content, edited_at)
        SELECT ${messageId}, ${unguard(current.content)}, edited_at FROM replaced
        RETURNING edited_at`.execute(tx);
        if (!rows[0]) throw new Error('the locked message vanished');
        return { status: 'changed', value: await this.findIn(tx, chatId, messageId) };
      },
    );
  }

  /**
   * Leaves a tombstone (same id and seq, content "", deleted_at set; edit history, reactions and
   * mentions gone; the reply link stays, as the contract lists it not) under the
   * chat's row lock, as `edit` does. A message deleted already rolls the version bump back.
   */
  async delete(
    chatId: string,
    messageId: string,
    actorId: string,
  ): Promise<ChangeResult<Tombstone>> {
    return underChatLock<Tombstone>(
      this.db,
      { chatId, messageId, actorId },
      async (tx, version, current) => {
        if (current.deleted_at !== null) return { status: 'deleted' };
        const row = await tx
          .updateTable('messages')
          .set({
            content: '',
            deleted_at: sql`clock_timestamp()`,
            version,
            mentions: [],
          })
          .where('id', '=', messageId)
          .returning(['seq', 'version', 'deleted_at'])
          .executeTakeFirstOrThrow();
        await tx.deleteFrom('message_edits').where('message_id', '=', messageId).execute();
        await tx.deleteFrom('message_reactions').where('message_id', '=', messageId).execute();
        // Marked, not removed: the files go after the commit, then the rows (the sweep finishes
        // the job if this process dies in between). A marked row is no attachment any more.
        const discarded = await tx
          .updateTable('attachments')
          .set({ discarded_at: sql`clock_timestamp()` })
          .where('message_id', '=', messageId)
          .where('discarded_at', 'is', null)
          .returning(['id', 'storage_key', 'thumbnail_key'])
          .execute();
        return {
          status: 'changed',
          value: {
            seq: row.seq,
            version: row.version,
            deletedAt: row.deleted_at ?? new Date(),
            discarded,
          },
        };
      },
    );
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

  private async findIn(tx: Transaction<DB>, chatId: string, messageId: string): Promise<Message> {
    const row = await withSenderOn(tx)
      .where('m.chat_id', '=', chatId)
      .where('m.id', '=', messageId)
      .executeTakeFirstOrThrow();
    return rowToMessage(row, this.link);
  }

  /** Whole messages by id, in no particular order (search reads ids first, then these). */
  async byIds(ids: readonly string[]): Promise<Message[]> {
    if (ids.length === 0) return [];
    const rows = await this.withSender()
      .where('m.id', 'in', [...ids])
      .execute();
    return rows.map((r) => rowToMessage(r, this.link));
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
    return new Map(rows.map((r) => [r.chat_id, rowToMessage(r, this.link)]));
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
   * A read mark: whether the chat exists, the reader's role in it (null: not a participant) and
   * whether they are silenced (see `ChatsRepository.access`), the message's seq (null: no such
   * message in the chat), and whether the reader's mark moved up to it. It moves only for a
   * participant and never back; the read is also recorded per message, as the design's
   * message_reads has it. The caller decides what to refuse, in the contract's order, from what
   * this returns: nothing else was changed when it refuses.
   *
   * With readers, each send brings a read from every member looking at the chat, so this is the
   * hottest write of an active chat (docs/PERFORMANCE.md, "reading"). Read marks go through group
   * commit as sends do: those that arrive while a flush runs are made together by one statement
   * (`markManyRead`), a lone one at once by its own (`markOneRead`).
   */
  markRead(chatId: string, userId: string, messageId: string): Promise<ReadMark> {
    return this.reads.submit({ chatId, userId, messageId });
  }

  private async flushReads(run: readonly Pending<NewRead, ReadMark>[]): Promise<void> {
    this.stats.readsFlushed(run.length);
    const [first] = run;
    if (!first) return;
    if (run.length === 1) return settle(first, this.markOneRead(first.item));
    const reads = run.map((e) => e.item);
    const marks = await twice(() => this.markManyRead(reads));
    for (const [i, entry] of run.entries()) {
      // Failing twice (see isRetryableBatchError), the batch changed nothing: each read is made
      // alone, in order, and gets its own answer.
      await settle(entry, marks ? Promise.resolve(marks[i]!) : this.markOneRead(entry.item));
    }
  }

  /** One read mark in one statement (see `markRead`). */
  async markOneRead({ chatId, userId, messageId }: NewRead): Promise<ReadMark> {
    const { rows } = await executePrepared(
      this.db,
      'messages_mark_read',
      sql<ReadMark>`
        WITH place AS (
          SELECT p.role,
            c.direct_key IS NOT NULL AND ${blockedInDirectChat(userId, sql.ref('c.direct_key'))} AS silenced
          FROM chats c
          LEFT JOIN chat_participants p ON p.chat_id = c.id AND p.user_id = ${userId}
          WHERE c.id = ${chatId}
        ), target AS (
          SELECT seq FROM messages WHERE id = ${messageId} AND chat_id = ${chatId}
        ), moved AS (
          UPDATE chat_participants p SET last_read_seq = t.seq, last_read_at = now()
          FROM target t
          WHERE p.chat_id = ${chatId} AND p.user_id = ${userId} AND p.last_read_seq < t.seq
          RETURNING 1
        ), recorded AS (
          INSERT INTO message_reads (message_id, user_id)
          SELECT ${messageId}, ${userId} FROM moved
          ON CONFLICT DO NOTHING
        )
        SELECT EXISTS (SELECT 1 FROM place) AS chat, (SELECT role FROM place) AS role,
          coalesce((SELECT silenced FROM place), false) AS silenced,
          (SELECT seq FROM target) AS seq, EXISTS (SELECT 1 FROM moved) AS moved`,
    );
    return rows[0]!;
  }

  /**
   * Many read marks in one statement, each answered as `markOneRead` would answer it had they
   * run one after another in the order given: a reader's mark in a chat moves for a read whose
   * seq is above both the mark found and every earlier read of theirs in the batch, and ends at
   * the highest of those. Only the rows whose mark may move are locked (a read at or below the
   * snapshot's mark moves nothing: marks never go back), in (chat, user) order before any is read
   * for its mark, as `insertMany` locks the senders' and `ChatsRepository.removeParticipant` a
   * chat's, so that no two of them (of two processes, or on two connections of one) wait on each
   * other in a cycle; the mark compared is the locked row's, not the snapshot's.
   *
   * The chat, the participant and the message are each found by a probe of a key (a LATERAL
   * subquery PostgreSQL cannot pull up: OFFSET 0, or the lock): left to the planner, a generic
   * plan made while `messages` was small hashed the whole table at every run as it grew (45
   * reads: 1.5 ms planned on 21,000 messages, 4.5 ms with the plan made on 1,000, the OFFSET
   * lesson of `insertMany`). The lock is taken inside the probe, row by row in the sorted order
   * of the keys that drive it.
   */
  async markManyRead(reads: readonly NewRead[]): Promise<ReadMark[]> {
    const { rows } = await executePrepared(
      this.db,
      'messages_mark_many_read',
      sql<ReadMark & { ord: string | number }>`
        WITH items AS (
          SELECT * FROM unnest(${reads.map((r) => r.chatId)}::uuid[],
            ${reads.map((r) => r.userId)}::uuid[], ${reads.map((r) => r.messageId)}::uuid[])
            WITH ORDINALITY AS t(chat_id, user_id, message_id, ord)
        ), found AS (
          SELECT i.*, c.id IS NOT NULL AS chat, p.role, p.last_read_seq, m.seq,
            c.direct_key IS NOT NULL AND ${blockedInDirectChat(sql.ref('i.user_id'), sql.ref('c.direct_key'))}
              AS silenced
          FROM items i
          LEFT JOIN LATERAL (SELECT id, direct_key FROM chats WHERE id = i.chat_id OFFSET 0) c
            ON true
          LEFT JOIN LATERAL (SELECT role, last_read_seq FROM chat_participants
            WHERE chat_id = i.chat_id AND user_id = i.user_id OFFSET 0) p ON true
          LEFT JOIN LATERAL (SELECT seq FROM messages
            WHERE id = i.message_id AND chat_id = i.chat_id OFFSET 0) m ON true
        ), locked AS (
          SELECT l.* FROM (SELECT chat_id, user_id FROM found
              WHERE role IS NOT NULL AND seq IS NOT NULL GROUP BY chat_id, user_id
              HAVING max(seq) > max(last_read_seq) ORDER BY chat_id, user_id) f,
            LATERAL (SELECT chat_id, user_id, last_read_seq FROM chat_participants
              WHERE chat_id = f.chat_id AND user_id = f.user_id FOR NO KEY UPDATE) l
        ), judged AS (
          SELECT f.ord, f.chat_id, f.user_id, f.message_id, f.seq,
            f.seq > GREATEST(l.last_read_seq, coalesce(max(f.seq) OVER (
              PARTITION BY f.chat_id, f.user_id ORDER BY f.ord
              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)) AS moved
          FROM found f JOIN locked l ON l.chat_id = f.chat_id AND l.user_id = f.user_id
          WHERE f.seq IS NOT NULL
        ), marked AS (
          UPDATE chat_participants p SET last_read_seq = k.seq, last_read_at = now()
          FROM (SELECT chat_id, user_id, max(seq) AS seq FROM judged WHERE moved
            GROUP BY chat_id, user_id) k
          WHERE p.chat_id = k.chat_id AND p.user_id = k.user_id AND p.last_read_seq < k.seq
        ), recorded AS (
          INSERT INTO message_reads (message_id, user_id)
          SELECT message_id, user_id FROM judged WHERE moved
          ON CONFLICT DO NOTHING
        )
        SELECT f.ord, f.chat, f.role, coalesce(f.silenced, false) AS silenced, f.seq,
          coalesce(j.moved, false) AS moved
        FROM found f LEFT JOIN judged j ON j.ord = f.ord`,
    );
    const marks = new Array<ReadMark>(reads.length);
    for (const { ord, ...mark } of rows) marks[Number(ord) - 1] = mark;
    return marks;
  }

  /** A line of the server's own that goes with no other change (a call's outcome). */
  insertSystem(chatId: string, note: SystemNote): Promise<Message> {
    return this.db.transaction().execute((tx) => insertSystemMessage(tx, chatId, note));
  }

  private withSender() {
    return withSenderOn(this.db);
  }
}

/** A line the server writes in a chat about a change to it ("Alice added Carol"). */
export interface SystemNote {
  /** Who made the change: the message's sender. */
  sender: UserSummary;
  content: string;
}

/**
 * Stores a `system` message in the caller's transaction, which changes the chat's membership or
 * name: the chat's next seq and version are taken under its row lock, as a send takes them, so
 * neither has a gap and a change rolled back leaves no line. The sender's read mark moves to it,
 * as with a send (a sender who just left has no mark left to move). Mentions none, answers none.
 */
export async function insertSystemMessage(
  tx: Transaction<DB>,
  chatId: string,
  note: SystemNote,
): Promise<Message> {
  const { rows } = await sql<SentRow>`
    WITH bumped AS (
      UPDATE chats SET last_seq = last_seq + 1, version = version + 1,
        updated_at = GREATEST(updated_at, clock_timestamp())
      WHERE id = ${chatId}
      RETURNING last_seq, version, updated_at
    ), inserted AS (
      INSERT INTO messages (id, chat_id, seq, sender_id, content, message_type,
        client_message_id, created_at, version, reply_to_id, mentions)
      SELECT ${newMessageId()}::uuid, ${chatId}, last_seq, ${note.sender.id}, ${note.content},
        'system', NULL, updated_at, version, NULL, '{}'::uuid[]
      FROM bumped
      RETURNING id, chat_id, seq, sender_id, created_at, version, mentions
    ), marked AS (
      UPDATE chat_participants p SET last_read_seq = i.seq, last_read_at = i.created_at
      FROM inserted i
      WHERE p.chat_id = i.chat_id AND p.user_id = i.sender_id AND p.last_read_seq < i.seq
    )
    SELECT i.* FROM inserted i`.execute(tx);
  const row = rows[0];
  if (!row) throw new Error('the chat of a system message vanished');
  return toMessage(
    sentRecord(
      { sender: note.sender, content: note.content, messageType: 'system', clientMessageId: null },
      row,
    ),
    note.sender,
    noAttachments,
  );
}

/** System messages carry no attachments: nothing to link. */
const noAttachments: AttachmentLinker = () => {
  throw new Error('a system message has no attachments');
};

/**
 * The ids of the chat's participants (not the sender) whom the content names as `@username`, in
 * the order first named: an SQL expression for the statement that stores the content.
 */
function mentionsOf(chatId: string, senderId: string, content: string) {
  const names = mentionedNames(content);
  if (names.length === 0) return sql`'{}'::uuid[]`;
  return sql`ARRAY(
    SELECT p.user_id FROM chat_participants p JOIN users u ON u.id = p.user_id
    WHERE p.chat_id = ${chatId} AND p.user_id <> ${senderId}
      AND lower(u.username) = ANY(${names}::text[])
    ORDER BY array_position(${names}::text[], lower(u.username)))`;
}

/** Messages joined with their senders (and answered messages), on the pool or in a transaction. */
function withSenderOn(db: Kysely<DB>) {
  {
    return db
      .selectFrom('messages as m')
      .innerJoin('users as u', 'u.id', 'm.sender_id')
      .leftJoin('messages as r', 'r.id', 'm.reply_to_id')
      .select([
        ...MESSAGE_COLUMNS,
        ...GUARDED_TEXT,
        ...REPLY_COLUMNS,
        REACTIONS,
        ATTACHMENTS,
        'u.username',
        'u.display_name',
        'u.avatar_url',
      ]);
  }
}

function rowToMessage(
  r: MessageRecord & { username: string; display_name: string; avatar_url: string | null },
  link: AttachmentLinker,
): Message {
  const record = {
    ...r,
    content: unguard(r.content),
    client_message_id: unguard(r.client_message_id),
    reply_content: unguard(r.reply_content),
  };
  return toMessage(
    record,
    {
      id: r.sender_id,
      username: r.username,
      display_name: r.display_name,
      avatar_url: r.avatar_url,
    },
    link,
  );
}
