import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> so later schema changes never break them.
export async function up(db: Kysely<any>): Promise<void> {
  // Replies: the answered message, always one of the same chat (checked by the send).
  await db.schema
    .alterTable('messages')
    .addColumn('reply_to_id', 'uuid', (c) => c.references('messages.id').onDelete('set null'))
    .execute();
  // The replies to a message, for whatever one day removes messages for good (the foreign key's
  // SET NULL would otherwise scan the table once per removed row).
  await sql`CREATE INDEX messages_reply_to_idx ON messages (reply_to_id) WHERE reply_to_id IS NOT NULL`.execute(
    db,
  );
  // Mentions live on the message row: read with it, no join on the hot path. unread_mentions
  // counts the rows above a read mark whose array holds the participant.
  await db.schema
    .alterTable('messages')
    .addColumn('mentions', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'::uuid[]`))
    .execute();
  // unread_mentions reads only the chat's messages that mention anyone, above a read mark.
  await sql`CREATE INDEX messages_mentions_idx ON messages (chat_id, seq) WHERE mentions <> '{}'`.execute(
    db,
  );

  // One row per (message, user, emoji). `position` is the chat version at which the emoji first
  // appeared on the message; later rows of the same emoji copy it, so an emoji keeps its place
  // while anyone keeps it, and one removed by everyone and added again goes last.
  await db.schema
    .createTable('message_reactions')
    .addColumn('message_id', 'uuid', (c) =>
      c.notNull().references('messages.id').onDelete('cascade'),
    )
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('emoji', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .addPrimaryKeyConstraint('message_reactions_pkey', ['message_id', 'emoji', 'user_id'])
    .execute();

  // Per participant, per chat: a muted chat does not notify.
  await db.schema
    .alterTable('chat_participants')
    .addColumn('muted', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('chat_participants').dropColumn('muted').execute();
  await db.schema.dropTable('message_reactions').execute();
  await db.schema.dropIndex('messages_mentions_idx').execute();
  await db.schema.alterTable('messages').dropColumn('mentions').execute();
  await db.schema.dropIndex('messages_reply_to_idx').execute();
  await db.schema.alterTable('messages').dropColumn('reply_to_id').execute();
}
