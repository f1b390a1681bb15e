import { sql, type Kysely } from 'kysely';

// Frozen in time: migrations use Kysely<any> so later schema changes never break them.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('avatar_url', 'text')
    .addColumn('last_seen_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Usernames and emails are unique without regard to case; text_pattern_ops serves the
  // prefix search (`lower(x) LIKE 'abc%'`) whatever the database's collation.
  await sql`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username) text_pattern_ops)`.execute(
    db,
  );
  await sql`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email)) WHERE email IS NOT NULL`.execute(
    db,
  );
  await sql`CREATE INDEX users_display_name_lower_idx ON users (lower(display_name) text_pattern_ops)`.execute(
    db,
  );

  await db.schema
    .createTable('chats')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type IN ('direct', 'group')`))
    .addColumn('name', 'text')
    .addColumn('created_by', 'uuid', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('direct_key', 'text', (c) => c.unique())
    .execute();

  await db.schema
    .createTable('chat_participants')
    .addColumn('chat_id', 'uuid', (c) => c.notNull().references('chats.id').onDelete('cascade'))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('owner', 'admin', 'member')`))
    .addColumn('joined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_read_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_read_at', 'timestamptz')
    .addPrimaryKeyConstraint('chat_participants_pkey', ['chat_id', 'user_id'])
    .execute();
  // "My chats" and "my contacts" start from the user.
  await db.schema
    .createIndex('chat_participants_user_idx')
    .on('chat_participants')
    .columns(['user_id', 'chat_id'])
    .execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('chat_id', 'uuid', (c) => c.notNull().references('chats.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('sender_id', 'uuid', (c) => c.notNull().references('users.id'))
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('message_type', 'text', (c) =>
      c.notNull().check(sql`message_type IN ('text', 'image', 'file', 'system')`),
    )
    .addColumn('client_message_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('edited_at', 'timestamptz')
    .addColumn('deleted_at', 'timestamptz')
    // Serves history paging (before/after), unread counts and the last message.
    .addUniqueConstraint('messages_chat_seq_key', ['chat_id', 'seq'])
    // A resent clientMessageId violates this and rolls the whole send back: no gap in seq.
    .addUniqueConstraint('messages_client_message_id_key', [
      'chat_id',
      'sender_id',
      'client_message_id',
    ])
    .execute();

  await db.schema
    .createTable('message_reads')
    .addColumn('message_id', 'uuid', (c) =>
      c.notNull().references('messages.id').onDelete('cascade'),
    )
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('read_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('message_reads_pkey', ['message_id', 'user_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['message_reads', 'messages', 'chat_participants', 'chats', 'users']) {
    await db.schema.dropTable(table).execute();
  }
}
