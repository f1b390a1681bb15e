import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> so later schema changes never break them.
export async function up(db: Kysely<any>): Promise<void> {
  // The chat's change counter: bumped under the chat row's lock by every send, edit and delete,
  // so a client that holds version V can ask for what changed after V and miss nothing.
  await db.schema
    .alterTable('chats')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('messages')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // Until now every change was a send, numbered by seq without gaps: seq is a valid version.
  await sql`UPDATE messages SET version = seq`.execute(db);
  await sql`UPDATE chats SET version = last_seq`.execute(db);
  // Serves `changes?since`: a chat's messages above a version, in version order.
  await db.schema
    .createIndex('messages_chat_version_idx')
    .on('messages')
    .columns(['chat_id', 'version'])
    .execute();

  await db.schema
    .createTable('message_edits')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('message_id', 'uuid', (c) =>
      c.notNull().references('messages.id').onDelete('cascade'),
    )
    .addColumn('content', 'text', (c) => c.notNull())
    /** When this content was replaced by the next. */
    .addColumn('edited_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('message_edits_message_idx')
    .on('message_edits')
    .columns(['message_id', 'id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('message_edits').execute();
  await db.schema.dropIndex('messages_chat_version_idx').execute();
  await db.schema.alterTable('messages').dropColumn('version').execute();
  await db.schema.alterTable('chats').dropColumn('version').execute();
}
