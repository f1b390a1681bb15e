import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> so later schema changes never break them.
export async function up(db: Kysely<any>): Promise<void> {
  // One row per upload, from `upload:start` (or the start of a POST) on. The bytes live in the
  // upload storage under `storage_key` (and `thumbnail_key`); while unfinished, under the
  // storage's temporary name for that key, whose length is what has been received.
  await db.schema
    .createTable('attachments')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('uploader_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('chat_id', 'uuid', (c) => c.notNull().references('chats.id').onDelete('cascade'))
    // Null until sent; the message's delete marks the row discarded (below) before it goes.
    .addColumn('message_id', 'uuid', (c) => c.references('messages.id').onDelete('cascade'))
    // Its place among the message's attachments, in the order the send named them.
    .addColumn('position', 'smallint')
    .addColumn('name', 'text', (c) => c.notNull())
    // Bytes: declared at the start over the socket, counted at the end over HTTP (null until).
    .addColumn('size', 'integer')
    // As declared by the client, then (once finished) what is served as `mime`.
    .addColumn('mime', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.check(sql`kind IN ('image', 'file')`))
    .addColumn('width', 'integer')
    .addColumn('height', 'integer')
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('thumbnail_key', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Null while bytes are still coming: such a row is no attachment yet.
    .addColumn('completed_at', 'timestamptz')
    // Its message was deleted: the files go after the commit, then the row (a sweep finishes
    // the job of a process that died in between).
    .addColumn('discarded_at', 'timestamptz')
    .execute();
  // A message's attachments, read with every page of messages.
  await sql`CREATE INDEX attachments_message_idx ON attachments (message_id, position)
    WHERE message_id IS NOT NULL`.execute(db);
  // The sweeps: unfinished after an hour and unsent after a day, both by age.
  await sql`CREATE INDEX attachments_unsent_idx ON attachments (created_at)
    WHERE message_id IS NULL`.execute(db);
  await sql`CREATE INDEX attachments_discarded_idx ON attachments (discarded_at)
    WHERE discarded_at IS NOT NULL`.execute(db);
  // Deleting a user or chat (cascades) finds their rows by index.
  await sql`CREATE INDEX attachments_uploader_idx ON attachments (uploader_id)`.execute(db);
  await sql`CREATE INDEX attachments_chat_idx ON attachments (chat_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('attachments').execute();
}
