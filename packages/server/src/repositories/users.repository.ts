import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import { executePrepared } from '../db/prepared.js';
import type { DB } from '../db/schema.js';
import type { Account } from '../services/models.js';
import { ACCOUNT_COLUMNS, toAccount } from './mappers.js';

/** `%`, `_` and the escape character itself match themselves in a LIKE pattern. */
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Not an Argon2 string: nothing verifies against it (and sign-in never reads a deleted row). */
const DELETED_HASH = '!deleted';

export interface NewAccount {
  username: string;
  email: string | null;
  displayName: string;
  passwordHash: string;
}

export class UsersRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Throws a unique violation (users_username_lower_key / users_email_lower_key) when taken. */
  async create(user: NewAccount): Promise<Account> {
    const row = await this.db
      .insertInto('users')
      .values({
        username: user.username,
        email: user.email,
        display_name: user.displayName,
        password_hash: user.passwordHash,
        avatar_url: null,
      })
      .returning(ACCOUNT_COLUMNS)
      .executeTakeFirstOrThrow();
    return toAccount(row);
  }

  async findById(id: string): Promise<Account | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select(ACCOUNT_COLUMNS)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toAccount(row);
  }

  async findByIds(ids: readonly string[]): Promise<Account[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('users')
      .select(ACCOUNT_COLUMNS)
      .where('id', 'in', [...ids])
      .execute();
    return rows.map(toAccount);
  }

  /**
   * Sign-in's lookup, and one of the two ways the password hash leaves this repository. A
   * deleted account is never found: it can never sign in again.
   */
  async findByLogin(
    login: { username: string } | { email: string },
  ): Promise<{ account: Account; passwordHash: string } | undefined> {
    const q = this.db
      .selectFrom('users')
      .select(ACCOUNT_COLUMNS)
      .select('password_hash')
      .where('deleted_at', 'is', null);
    const row = await ('username' in login
      ? q.where(sql`lower(username)`, '=', login.username.toLowerCase()).executeTakeFirst()
      : q.where(sql`lower(email)`, '=', login.email.toLowerCase()).executeTakeFirst());
    return row && { account: toAccount(row), passwordHash: row.password_hash };
  }

  /** For confirming the password of a signed-in user; undefined once the account is deleted. */
  async passwordHash(id: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return row?.password_hash;
  }

  /**
   * Users whose username, display name, or a word of the display name starts with `prefix`, any
   * case; deleted ones never. Those whose username or whole name starts with it come first: a
   * person typing "bro" more likely means Brooke than Alice Brown.
   */
  async search(prefix: string, excludeId: string, limit: number): Promise<Account[]> {
    // Folded by PostgreSQL's lower(), as the names are: JavaScript's toLowerCase() would make
    // "İ" an "i" and a combining dot, where lower() makes it "i", and "İstanbul" find nothing.
    const pattern = sql<string>`lower(${escapeLike(prefix)}) || '%'`;
    // A word starts after whitespace; the name is read with every whitespace run as one space.
    const wordPattern = sql<string>`'% ' || ${pattern}`;
    const spaced = sql`regexp_replace(lower(display_name), '[[:space:]]+', ' ', 'g')`;
    const starts = (eb: ExpressionBuilder<DB, 'users'>) =>
      eb.or([
        eb(sql`lower(username)`, 'like', pattern),
        eb(sql`lower(display_name)`, 'like', pattern),
      ]);
    const rows = await this.db
      .selectFrom('users')
      .select(ACCOUNT_COLUMNS)
      .where('id', '<>', excludeId)
      .where('deleted_at', 'is', null)
      .where((eb) => eb.or([starts(eb), eb(spaced, 'like', wordPattern)]))
      .orderBy((eb) => eb.case().when(starts(eb)).then(0).else(1).end())
      .orderBy(sql`lower(username)`)
      .limit(limit)
      .execute();
    return rows.map(toAccount);
  }

  async updateDisplayName(id: string, displayName: string): Promise<Account | undefined> {
    const row = await this.db
      .updateTable('users')
      .set({ display_name: displayName })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returning(ACCOUNT_COLUMNS)
      .executeTakeFirst();
    return row && toAccount(row);
  }

  /** Sets the hash and moves the token version on, so that every earlier token is refused. */
  async setPassword(id: string, passwordHash: string): Promise<Account | undefined> {
    const row = await this.db
      .updateTable('users')
      .set((eb) => ({ password_hash: passwordHash, token_version: eb('token_version', '+', 1) }))
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returning(ACCOUNT_COLUMNS)
      .executeTakeFirst();
    return row && toAccount(row);
  }

  /** Every token issued so far is refused from now on. */
  async bumpTokenVersion(id: string): Promise<void> {
    await this.db
      .updateTable('users')
      .set((eb) => ({ token_version: eb('token_version', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }

  /**
   * Deletes the account but keeps its row: its messages still name their sender, and the
   * username stays taken so that nobody can take over the name those messages show. The email
   * is freed and the hash replaced by a string no password verifies against.
   */
  async markDeleted(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set((eb) => ({
        deleted_at: sql<Date>`now()`,
        token_version: eb('token_version', '+', 1),
        email: null,
        password_hash: DELETED_HASH,
      }))
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async touchLastSeen(id: string, at: Date): Promise<void> {
    await this.db.updateTable('users').set({ last_seen_at: at }).where('id', '=', id).execute();
  }

  /** Everyone who shares at least one chat with the user: who hears of their presence. */
  async contactIds(userId: string): Promise<string[]> {
    // Asked at every first connect and last disconnect: prepared.
    const { rows } = await executePrepared(
      this.db,
      'users_contact_ids',
      this.db
        .selectFrom('chat_participants as mine')
        .innerJoin('chat_participants as other', 'other.chat_id', 'mine.chat_id')
        .select('other.user_id')
        .distinct()
        .where('mine.user_id', '=', userId)
        .where('other.user_id', '<>', userId),
    );
    return rows.map((r) => r.user_id);
  }
}
