import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> so later schema changes never break them.
export async function up(db: Kysely<any>): Promise<void> {
  // Bumped by a password change, "sign out everywhere" and deletion: a token carries the version
  // it was issued under and is refused once the user's version has moved past it.
  await db.schema
    .alterTable('users')
    .addColumn('token_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // A deleted account keeps its row (its messages still name a sender) but can never sign in.
  await db.schema.alterTable('users').addColumn('deleted_at', 'timestamptz').execute();

  // One signed-out token (by its jti) until it would have expired anyway.
  await db.schema
    .createTable('revoked_tokens')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('revoked_tokens_expires_idx')
    .on('revoked_tokens')
    .column('expires_at')
    .execute();

  await db.schema
    .createTable('user_blocks')
    .addColumn('blocker_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('blocked_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('user_blocks_pkey', ['blocker_id', 'blocked_id'])
    .execute();
  // "Has anyone among these blocked me?" starts from the blocked side.
  await db.schema
    .createIndex('user_blocks_blocked_idx')
    .on('user_blocks')
    .columns(['blocked_id', 'blocker_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('user_blocks').execute();
  await db.schema.dropTable('revoked_tokens').execute();
  await db.schema.alterTable('users').dropColumn('deleted_at').execute();
  await db.schema.alterTable('users').dropColumn('token_version').execute();
}
