import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../db/schema.js';

/** What a change under the chat's lock came to; anything but `changed` stored nothing. */
export type ChangeResult<T> =
  | { status: 'changed'; value: T }
  /** The message is a tombstone already. */
  | { status: 'deleted' }
  /** The change would store what is there already. */
  | { status: 'unchanged' }
  /** No such message in the chat (deleted with its chat meanwhile). */
  | { status: 'missing' }
  /** The actor left the chat (or was removed) after the access check. */
  | { status: 'outsider' };

/** The message as the change finds it, read under the lock. */
export interface LockedMessage {
  /** Guarded like the repositories' text reads: one '.' in front (see GUARDED_TEXT). */
  content: string;
  deleted_at: Date | null;
  sender_id: string;
}

/** Thrown to roll a transaction back when the change turned out to store nothing. */
class Unchanged<R> extends Error {
  constructor(readonly result: R) {
    super('nothing to change');
  }
}

/**
 * Runs `change` in a transaction that has bumped the chat's version under its row lock (the lock
 * every change to the chat's messages takes, so versions have no gaps and changes to one chat
 * happen one after another), checked that the actor is still a participant, and read the message.
 * A result other than `changed` rolls the bump back.
 */
export async function underChatLock<T, R extends { status: string } = never>(
  db: Kysely<DB>,
  target: { chatId: string; messageId: string; actorId: string },
  change: (
    tx: Transaction<DB>,
    version: number,
    current: LockedMessage,
  ) => Promise<ChangeResult<T> | R>,
): Promise<ChangeResult<T> | R> {
  const { chatId, messageId, actorId } = target;
  try {
    return await db.transaction().execute(async (tx) => {
      const bumped = await tx
        .updateTable('chats')
        .set((eb) => ({ version: eb('version', '+', 1) }))
        .where('id', '=', chatId)
        .returning([
          'version',
          // Read after the lock: a removal that committed since the access check is seen.
          sql<boolean>`EXISTS (SELECT 1 FROM chat_participants
            WHERE chat_id = ${chatId} AND user_id = ${actorId})`.as('member'),
        ])
        .executeTakeFirst();
      const current = await tx
        .selectFrom('messages as m')
        .select(['m.deleted_at', 'm.sender_id', sql<string>`'.' || m.content`.as('content')])
        .where('m.id', '=', messageId)
        .where('m.chat_id', '=', chatId)
        .executeTakeFirst();
      const result: ChangeResult<T> | R =
        !bumped || !current
          ? { status: 'missing' }
          : !bumped.member
            ? { status: 'outsider' }
            : await change(tx, bumped.version, current);
      if (result.status !== 'changed') throw new Unchanged(result);
      return result;
    });
  } catch (err) {
    if (err instanceof Unchanged) return err.result as ChangeResult<T> | R;
    throw err;
  }
}
