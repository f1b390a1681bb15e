import { sql, type Kysely } from 'kysely';
import { executePrepared } from '../db/prepared.js';
import type { DB } from '../db/schema.js';
import type { Account } from '../services/models.js';
import { ACCOUNT_COLUMNS_U, toAccount } from './mappers.js';

/** Expired revocations cleared per sign-out: bounded, so a sign-out never waits on a backlog. */
const PURGE_BATCH = 100;

export class TokensRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * The token's user and whether the token was signed out, in one round trip: every request and
   * every handshake asks this. With `chats`, the ids of the user's chats too (the handshake's
   * rooms), read in the same statement, so at the same `membership_version`.
   */
  async session(
    userId: string,
    tokenId: string,
    chats = false,
  ): Promise<{ account: Account; revoked: boolean; chatIds: string[] } | undefined> {
    // Every handshake and every HTTP request asks this: prepared, under a name per shape.
    const query = this.db
      .selectFrom('users as u')
      .select(ACCOUNT_COLUMNS_U)
      .select((eb) =>
        eb
          .exists(eb.selectFrom('revoked_tokens').select('jti').where('jti', '=', tokenId))
          .$castTo<boolean>()
          .as('revoked'),
      )
      .$if(chats, (q) =>
        q.select(
          sql<string[]>`ARRAY(SELECT p.chat_id FROM chat_participants p WHERE p.user_id = u.id)`.as(
            'chat_ids',
          ),
        ),
      )
      .where('u.id', '=', userId);
    const { rows } = await executePrepared(
      this.db,
      chats ? 'tokens_session_chats' : 'tokens_session',
      query,
    );
    const row = rows[0];
    return (
      row && {
        account: toAccount(row),
        revoked: row.revoked,
        chatIds: row.chat_ids ?? [],
      }
    );
  }

  /**
   * Refuses this one token until it would have expired anyway, and clears a batch of
   * revocations whose tokens have expired (they are refused for their expiry alone).
   */
  async revoke(tokenId: string, userId: string, expiresAt: Date): Promise<void> {
    await this.db
      .insertInto('revoked_tokens')
      .values({ jti: tokenId, user_id: userId, expires_at: expiresAt })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
    await this.db
      .deleteFrom('revoked_tokens')
      .where('jti', 'in', (eb) =>
        eb
          .selectFrom('revoked_tokens')
          .select('jti')
          .where('expires_at', '<', sql<Date>`now()`)
          .limit(PURGE_BATCH),
      )
      .execute();
  }
}
