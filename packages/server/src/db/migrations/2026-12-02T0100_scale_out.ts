import type { Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> so later schema changes never break them.
export async function up(db: Kysely<any>): Promise<void> {
  // Bumped in the transaction of every change to the user's chat memberships. A socket that read
  // its chats compares it afterwards: a change committed meanwhile, on any process, shows.
  await db.schema
    .alterTable('users')
    .addColumn('membership_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('membership_version').execute();
}
