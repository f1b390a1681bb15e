import { sql, type Kysely, type Transaction } from 'kysely';
import type { Message, Role } from '@parley/protocol';
import type { ChatRow, DB } from '../db/schema.js';
import type { ChatParticipant, ChatRecord } from '../services/models.js';
import { blockedInDirectChat } from './blocks.repository.js';
import { ACCOUNT_COLUMNS_U, toAccount } from './mappers.js';
import { insertSystemMessage, type SystemNote } from './messages.repository.js';

/** Where a page of the chat list ends: the last chat's exact updated_at (ISO text) and id. */
export interface ChatListKey {
  updatedAt: string;
  id: string;
}

/** Whether a chat exists and, if so, the caller's place in it (null: not a participant). */
export type ChatAccess =
  | {
      type: ChatRow['type'];
      role: Role | null;
      /** A direct chat whose other participant blocked the caller: they hear nothing from them. */
      silenced: boolean;
      /** The caller's membership version, read with the rest (see `membershipOf`). */
      membershipVersion: number;
    }
  | undefined;

export class ChatsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async access(chatId: string, userId: string): Promise<ChatAccess> {
    const row = await this.db
      .selectFrom('chats as c')
      .leftJoin('chat_participants as p', (j) =>
        j.onRef('p.chat_id', '=', 'c.id').on('p.user_id', '=', userId),
      )
      .select(['c.type', 'p.role'])
      .select(
        sql<boolean>`c.direct_key IS NOT NULL AND ${blockedInDirectChat(userId, sql.ref('c.direct_key'))}`.as(
          'silenced',
        ),
      )
      .select(
        sql<number>`(SELECT membership_version FROM users WHERE id = ${userId})`.as(
          'membership_version',
        ),
      )
      .where('c.id', '=', chatId)
      .executeTakeFirst();
    return (
      row && {
        type: row.type,
        role: row.role,
        silenced: row.silenced,
        membershipVersion: row.membership_version,
      }
    );
  }

  /**
   * The user's chats and their membership version, in one statement (so one snapshot): a socket
   * that joins these rooms and later finds the version moved knows a change raced its read.
   */
  async membershipOf(userId: string): Promise<{ version: number; chatIds: string[] }> {
    const row = await this.db
      .selectFrom('users as u')
      .select('u.membership_version')
      .select(
        sql<string[]>`ARRAY(SELECT p.chat_id FROM chat_participants p WHERE p.user_id = u.id)`.as(
          'chat_ids',
        ),
      )
      .where('u.id', '=', userId)
      .executeTakeFirst();
    return { version: row?.membership_version ?? 0, chatIds: row?.chat_ids ?? [] };
  }

  async membershipVersion(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select('membership_version')
      .where('id', '=', userId)
      .executeTakeFirst();
    return row?.membership_version ?? 0;
  }

  async findById(chatId: string): Promise<ChatRecord | undefined> {
    const row = await this.db
      .selectFrom('chats')
      .selectAll()
      .where('id', '=', chatId)
      .executeTakeFirst();
    return row && toChatRecord(row);
  }

  /**
   * A page of the user's chats, newest activity first: keyset paging on (updated_at, id), both
   * descending. `activity_key` is updated_at to the microsecond, as text: a JS Date keeps only
   * milliseconds, and a cursor rounded to them would skip chats within the same millisecond.
   */
  async listForUser(
    userId: string,
    limit: number,
    after: ChatListKey | null,
  ): Promise<(ChatRecord & { activityKey: string })[]> {
    let query = this.db
      .selectFrom('chats as c')
      .innerJoin('chat_participants as p', 'p.chat_id', 'c.id')
      .selectAll('c')
      .select(
        sql<string>`to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
          'activity_key',
        ),
      )
      .where('p.user_id', '=', userId);
    if (after) {
      query = query.where(
        sql<boolean>`(c.updated_at, c.id) < (${after.updatedAt}::timestamptz, ${after.id}::uuid)`,
      );
    }
    const rows = await query
      .orderBy('c.updated_at', 'desc')
      .orderBy('c.id', 'desc')
      .limit(limit)
      .execute();
    // Added to the record, not spread into a new one: see toParticipant (chats.service.ts).
    return rows.map((row) => Object.assign(toChatRecord(row), { activityKey: row.activity_key }));
  }

  /** Of `userIds`, those who share at least one chat with `viewerId`: one query for a set. */
  async sharingAChatWith(viewerId: string, userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('chat_participants as mine')
      .innerJoin('chat_participants as other', 'other.chat_id', 'mine.chat_id')
      .select('other.user_id')
      .distinct()
      .where('mine.user_id', '=', viewerId)
      .where('other.user_id', 'in', [...userIds])
      .execute();
    return new Set(rows.map((r) => r.user_id));
  }

  /** The participants of the chat other than `userId` (a direct chat's other side). */
  async othersIn(chatId: string, userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('chat_participants')
      .select('user_id')
      .where('chat_id', '=', chatId)
      .where('user_id', '<>', userId)
      .execute();
    return rows.map((r) => r.user_id);
  }

  async chatIdsForUser(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('chat_participants')
      .select('chat_id')
      .where('user_id', '=', userId)
      .execute();
    return rows.map((r) => r.chat_id);
  }

  /** Participants with their accounts, oldest member first. */
  async participants(chatIds: readonly string[]): Promise<ChatParticipant[]> {
    if (chatIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('chat_participants as p')
      .innerJoin('users as u', 'u.id', 'p.user_id')
      .select(ACCOUNT_COLUMNS_U)
      .select([
        'p.chat_id',
        'p.role',
        'p.joined_at',
        'p.last_read_seq',
        'p.last_read_at',
        'p.muted',
      ])
      // Served by messages_mentions_idx: only the chat's messages that mention anyone are read.
      .select(
        sql<number>`(SELECT count(*)::int FROM messages m
          WHERE m.chat_id = p.chat_id AND m.mentions <> '{}' AND m.seq > p.last_read_seq
            AND p.user_id = ANY(m.mentions))`.as('unread_mentions'),
      )
      .where('p.chat_id', 'in', [...chatIds])
      .orderBy('p.joined_at')
      .orderBy('u.username')
      .execute();
    return rows.map((row) => ({
      chatId: row.chat_id,
      role: row.role,
      joinedAt: row.joined_at,
      lastReadSeq: row.last_read_seq,
      lastReadAt: row.last_read_at,
      muted: row.muted,
      unreadMentions: row.unread_mentions,
      account: toAccount(row),
    }));
  }

  /** The participant's own mute setting; false when they are not a participant (left meanwhile). */
  async setMuted(chatId: string, userId: string, muted: boolean): Promise<boolean> {
    const result = await this.db
      .updateTable('chat_participants')
      .set({ muted })
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** The direct chat of two users, if they have one. */
  async findDirect(userA: string, userB: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('chats')
      .select('id')
      .where('direct_key', '=', directKey(userA, userB))
      .executeTakeFirst();
    return row?.id;
  }

  /**
   * Creates the direct chat of two users, or finds it: `direct_key` is unique, so two racing
   * creations meet on one row. `created` says which happened.
   */
  findOrCreateDirect(
    creatorId: string,
    otherId: string,
  ): Promise<{ id: string; created: boolean }> {
    const key = directKey(creatorId, otherId);
    return this.db.transaction().execute(async (tx) => {
      const inserted = await tx
        .insertInto('chats')
        .values({ type: 'direct', name: null, created_by: creatorId, direct_key: key })
        .onConflict((oc) => oc.column('direct_key').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) {
        const existing = await tx
          .selectFrom('chats')
          .select('id')
          .where('direct_key', '=', key)
          .executeTakeFirstOrThrow();
        return { id: existing.id, created: false };
      }
      await tx
        .insertInto('chat_participants')
        .values(
          [creatorId, otherId].map((user_id) => ({
            chat_id: inserted.id,
            user_id,
            role: 'member' as const,
          })),
        )
        .execute();
      await bumpMembership(tx, [creatorId, otherId]);
      return { id: inserted.id, created: true };
    });
  }

  /**
   * Brings back into a direct chat whichever of its two people left it (both may have), when
   * either opens it again. Each comes back with their read mark at the line that says they left
   * (the last message they sent: leaving is sending that line), so that what was said while they
   * were away counts as unread. The ids of those who came back, [] when both were in it.
   */
  rejoinDirect(chatId: string, userIds: readonly [string, string]): Promise<string[]> {
    return this.db.transaction().execute(async (tx) => {
      if (!(await lockChat(tx, chatId))) return [];
      const back = await tx
        .insertInto('chat_participants')
        .values(
          userIds.map((user_id) => ({
            chat_id: chatId,
            user_id,
            role: 'member' as const,
            last_read_seq: sql<number>`(SELECT coalesce(max(seq), 0) FROM messages
              WHERE chat_id = ${chatId} AND sender_id = ${user_id})`,
            last_read_at: sql<Date | null>`(SELECT created_at FROM messages
              WHERE chat_id = ${chatId} AND sender_id = ${user_id} ORDER BY seq DESC LIMIT 1)`,
          })),
        )
        .onConflict((oc) => oc.columns(['chat_id', 'user_id']).doNothing())
        .returning('user_id')
        .execute();
      const ids = back.map((row) => row.user_id);
      if (ids.length > 0) await bumpMembership(tx, ids);
      return ids;
    });
  }

  createGroup(creatorId: string, name: string, memberIds: readonly string[]): Promise<string> {
    return this.db.transaction().execute(async (tx) => {
      const chat = await tx
        .insertInto('chats')
        .values({ type: 'group', name, created_by: creatorId, direct_key: null })
        .returning('id')
        .executeTakeFirstOrThrow();
      await tx
        .insertInto('chat_participants')
        .values([
          { chat_id: chat.id, user_id: creatorId, role: 'owner' as const },
          ...memberIds.map((user_id) => ({ chat_id: chat.id, user_id, role: 'member' as const })),
        ])
        .execute();
      await bumpMembership(tx, [creatorId, ...memberIds]);
      return chat.id;
    });
  }

  /**
   * Adds a member and the chat's line about it (`note`), in one transaction. Throws a unique
   * violation (chat_participants_pkey) when already a participant, storing neither.
   */
  addParticipant(chatId: string, userId: string, note: SystemNote): Promise<Message> {
    return this.db.transaction().execute(async (tx) => {
      await lockChat(tx, chatId);
      await tx
        .insertInto('chat_participants')
        .values({ chat_id: chatId, user_id: userId, role: 'member' })
        .execute();
      await bumpMembership(tx, [userId]);
      return insertSystemMessage(tx, chatId, note);
    });
  }

  /**
   * Renames the group. A new name also leaves the chat's line about it (`note`), in the same
   * transaction; the name it holds already leaves none (null).
   */
  rename(chatId: string, name: string, note: SystemNote): Promise<Message | null> {
    return this.db.transaction().execute(async (tx) => {
      const before = await lockChat(tx, chatId);
      await tx
        .updateTable('chats')
        .set({ name, updated_at: sql`now()` })
        .where('id', '=', chatId)
        .execute();
      return before && before.name !== name ? insertSystemMessage(tx, chatId, note) : null;
    });
  }

  async setRole(chatId: string, userId: string, role: Role): Promise<boolean> {
    const result = await this.db
      .updateTable('chat_participants')
      .set({ role })
      .where('chat_id', '=', chatId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Removes a participant and leaves the chat's line about it (`note`), in one transaction; null
   * (and nothing stored) when they were no participant. An owner who leaves hands the group to
   * its longest-standing admin, else its longest-standing member, in the same transaction.
   */
  removeParticipant(chatId: string, userId: string, note: SystemNote): Promise<Message | null> {
    return this.db.transaction().execute(async (tx) => {
      await lockChat(tx, chatId);
      // This transaction writes up to three participant rows (the one removed, the heir's, the
      // actor's read mark): locked first in user order, the order in which a read batch locks
      // readers' rows (MessagesRepository.markManyRead), so that neither waits on the other in a
      // cycle. Every writer of several participant rows takes them in (chat, user) order.
      await sql`SELECT 1 FROM chat_participants WHERE chat_id = ${chatId}
        ORDER BY user_id FOR UPDATE`.execute(tx);
      const removed = await tx
        .deleteFrom('chat_participants')
        .where('chat_id', '=', chatId)
        .where('user_id', '=', userId)
        .returning('role')
        .executeTakeFirst();
      if (!removed) return null;
      await bumpMembership(tx, [userId]);
      if (removed.role === 'owner') await this.handOver(tx, chatId);
      return insertSystemMessage(tx, chatId, note);
    });
  }

  private async handOver(tx: Transaction<DB>, chatId: string): Promise<void> {
    const heir = await tx
      .selectFrom('chat_participants')
      .select('user_id')
      .where('chat_id', '=', chatId)
      .orderBy(sql`CASE role WHEN 'admin' THEN 0 ELSE 1 END`)
      .orderBy('joined_at')
      .orderBy('user_id')
      .limit(1)
      .executeTakeFirst();
    if (!heir) return;
    await tx
      .updateTable('chat_participants')
      .set({ role: 'owner' })
      .where('chat_id', '=', chatId)
      .where('user_id', '=', heir.user_id)
      .execute();
  }
}

const directKey = (a: string, b: string): string => [a, b].sort().join(':');

const toChatRecord = (row: ChatRow): ChatRecord => ({
  id: row.id,
  type: row.type,
  name: row.name,
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  version: row.version,
});

/**
 * Takes the chat row's lock first, as a send does, so a membership change and a send by the
 * member it moves cannot wait on each other in opposite orders (the send holds the chat row and
 * then moves its sender's read mark; the change would hold that participant row and then want the
 * chat row for its line). Returns the name the chat held; undefined for no such chat.
 */
async function lockChat(
  tx: Transaction<DB>,
  chatId: string,
): Promise<{ name: string | null } | undefined> {
  return tx
    .selectFrom('chats')
    .select('name')
    .where('id', '=', chatId)
    .forUpdate()
    .executeTakeFirst();
}

/**
 * In the transaction that changes these users' memberships: see `membershipOf`. The rows are
 * locked in id order, so two groups created at once with the same people cannot deadlock. The
 * lock is FOR NO KEY UPDATE, the one the UPDATE itself takes: FOR UPDATE would also wait for the
 * key-share locks that the other transaction's chat_participants rows hold on these users (their
 * foreign keys), while that one waits for ours: a deadlock, answered `internal`.
 */
async function bumpMembership(tx: Transaction<DB>, userIds: readonly string[]): Promise<void> {
  await tx
    .updateTable('users')
    .set((eb) => ({ membership_version: eb('membership_version', '+', 1) }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('users')
        .select('id')
        .where('id', 'in', [...userIds])
        .orderBy('id')
        .forNoKeyUpdate(),
    )
    .execute();
}
