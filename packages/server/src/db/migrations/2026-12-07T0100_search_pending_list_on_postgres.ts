import { sql, type Kysely } from 'kysely';

const INDEXES = ['messages_search_words_idx', 'messages_search_trgm_idx'];

/**
 * On PostgreSQL the search indexes take new messages into their pending lists again (GIN's
 * `fastupdate`, PostgreSQL's default), which the server merges into the trees every second from a
 * connection of its own (`database.ts`, "the search indexes' upkeep"): a merge of many entries at
 * once costs about half of inserting each message's into the tree as it is stored, and that merge
 * runs in another backend, beside the sends rather than in them. 30,000 messages of ten words,
 * inserted 20 at a time: PostgreSQL's CPU 1.9-2.0 s against 3.7-4.4 without the list
 * (docs/PERFORMANCE.md, "The search indexes' pending list on PostgreSQL").
 *
 * PGlite keeps them off (2026-12-06T0100): it has one thread, so a merge there stalls the sends
 * behind it, and it measured no cheaper in all.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ pglite: boolean }>`
    SELECT version() LIKE '%PGlite%' AS pglite`.execute(db);
  if (rows[0]?.pglite) return;
  for (const index of INDEXES) {
    await sql`ALTER INDEX ${sql.id(index)} SET (fastupdate = on)`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of INDEXES) {
    await sql`ALTER INDEX ${sql.id(index)} SET (fastupdate = off)`.execute(db);
  }
}
