import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB } from '../db/schema.js';
import type { Account } from '../services/models.js';
import { ACCOUNT_COLUMNS_U, toAccount } from './mappers.js';

/**
 * SQL, true when the other person of a direct chat blocked `user`: the user is then silenced there
 * (may not send, and what they do is not announced to the blocker). `directKey` is the chat's
 * `direct_key` (its two people's ids), which every caller has in hand: the other person is read
 * from it, not from the participants, so that a blocker who left the chat keeps the blocked one
 * silent in it until they come back. A group's key is null, and nobody is silenced there. Each
 * of `user` and `directKey` is a value or a column (`sql.ref`), so that every statement asks it
 * the same way.
 */
export const blockedInDirectChat = (user: unknown, directKey: unknown): RawBuilder<boolean> =>
  sql<boolean>`EXISTS (SELECT 1 FROM user_blocks b WHERE b.blocked_id = ${user}
    AND b.blocker_id IN (split_part(${directKey}, ':', 1)::uuid, split_part(${directKey}, ':', 2)::uuid))`;

/** Who blocked whom: `user_blocks`, one row per (blocker, blocked). */
export class BlocksRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Idempotent: blocking twice keeps the first row (and its time). */
  async block(blockerId: string, blockedId: string): Promise<void> {
    await this.db
      .insertInto('user_blocks')
      .values({ blocker_id: blockerId, blocked_id: blockedId })
      .onConflict((oc) => oc.columns(['blocker_id', 'blocked_id']).doNothing())
      .execute();
  }

  async unblock(blockerId: string, blockedId: string): Promise<void> {
    await this.db
      .deleteFrom('user_blocks')
      .where('blocker_id', '=', blockerId)
      .where('blocked_id', '=', blockedId)
      .execute();
  }

  /** The users `blockerId` blocked, most recently blocked first; deleted accounts left out. */
  async blockedBy(blockerId: string): Promise<Account[]> {
    const rows = await this.db
      .selectFrom('user_blocks as b')
      .innerJoin('users as u', 'u.id', 'b.blocked_id')
      .select(ACCOUNT_COLUMNS_U)
      .where('b.blocker_id', '=', blockerId)
      .where('u.deleted_at', 'is', null)
      .orderBy('b.created_at', 'desc')
      .orderBy('u.username')
      .execute();
    return rows.map(toAccount);
  }

  /** Those among `userIds` who blocked `blockedId`: one query for a whole group's list. */
  async blockersAmong(userIds: readonly string[], blockedId: string): Promise<string[]> {
    if (userIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('user_blocks')
      .select('blocker_id')
      .where('blocked_id', '=', blockedId)
      .where('blocker_id', 'in', [...userIds])
      .execute();
    return rows.map((r) => r.blocker_id);
  }
}
