import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { underChatLock, type ChangeResult } from './chat-lock.js';

export interface ReactionChange {
  /** How many users keep the emoji on the message now. */
  count: number;
  version: number;
}

/** A new emoji on a message that holds the most distinct emoji it may. */
type Full = { status: 'full' };

export type ReactionResult = ChangeResult<ReactionChange> | Full;

/**
 * Reactions: one row per (message, user, emoji) in `message_reactions`. Reads aggregate them with
 * the messages (MessagesRepository's REACTIONS); this is where they change.
 */
export class ReactionsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Adds or removes one user's emoji under the chat's row lock, as `edit` does, so that racing
   * reactions take versions one after another and count right. Adding what the user put there
   * already, or removing what they did not, is `unchanged` and rolls the bump back; so is a new
   * emoji past `maxEmoji` distinct ones (`full`). A new emoji takes the chat version as its
   * position (it goes last); one already there keeps its place.
   */
  async react(
    chatId: string,
    messageId: string,
    userId: string,
    emoji: string,
    op: 'add' | 'remove',
    maxEmoji: number,
  ): Promise<ReactionResult> {
    const target = { chatId, messageId, actorId: userId };
    return underChatLock<ReactionChange, Full>(this.db, target, async (tx, version, current) => {
      if (current.deleted_at !== null) return { status: 'deleted' };
      if (op === 'add') {
        const { rows } = await sql<{ kinds: number; position: number | null; mine: boolean }>`
          WITH present AS (
            SELECT emoji, min(position) AS position, bool_or(user_id = ${userId}) AS mine
            FROM message_reactions WHERE message_id = ${messageId} GROUP BY emoji
          )
          SELECT (SELECT count(*)::int FROM present) AS kinds,
            (SELECT position FROM present WHERE emoji = ${emoji}) AS position,
            coalesce((SELECT mine FROM present WHERE emoji = ${emoji}), false) AS mine`.execute(tx);
        const present = rows[0];
        if (!present) throw new Error('no answer');
        if (present.mine) return { status: 'unchanged' };
        if (present.position === null && present.kinds >= maxEmoji) return { status: 'full' };
        await tx
          .insertInto('message_reactions')
          .values({
            message_id: messageId,
            user_id: userId,
            emoji,
            position: present.position ?? version,
          })
          .execute();
      } else {
        const removed = await tx
          .deleteFrom('message_reactions')
          .where('message_id', '=', messageId)
          .where('emoji', '=', emoji)
          .where('user_id', '=', userId)
          .executeTakeFirst();
        if (removed.numDeletedRows === 0n) return { status: 'unchanged' };
      }
      await tx.updateTable('messages').set({ version }).where('id', '=', messageId).execute();
      const counted = await tx
        .selectFrom('message_reactions')
        .select(sql<number>`count(*)::int`.as('count'))
        .where('message_id', '=', messageId)
        .where('emoji', '=', emoji)
        .executeTakeFirstOrThrow();
      return { status: 'changed', value: { count: counted.count, version } };
    });
  }
}
