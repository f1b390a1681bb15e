import { sql, type Kysely } from 'kysely';

const INDEXES = ['messages_search_words_idx', 'messages_search_trgm_idx'];

/**
 * The search indexes take each message into their trees as it is stored, instead of into a
 * pending list that the insert which finds it over 4 MB (`gin_pending_list_limit`) merges while
 * its send waits. PGlite has no autovacuum to merge it in the background, so every few tens of
 * thousands of messages one batch of sends stalled for a quarter of a second (275 ms in 40,000
 * messages inserted 20 at a time; PostgreSQL's autovacuum only makes it rarer). Without the list
 * the same 40,000 took no longer (7.4 s against 7.6 s) and no batch over 36 ms
 * (docs/PERFORMANCE.md, "The search indexes' pending list").
 *
 * Setting the option locks each index exclusively until the migration commits, the merge of what
 * its list holds (at most 4 MB) included: on PostgreSQL, processes of the previous build that
 * still serve during a rolling deploy wait that long (a second or so) to store or search.
 */
export async function up(db: Kysely<any>): Promise<void> {
  for (const index of INDEXES) {
    await sql`ALTER INDEX ${sql.id(index)} SET (fastupdate = off)`.execute(db);
    // What the list holds already goes into the tree now, not at the next vacuum.
    await sql`SELECT gin_clean_pending_list(${index}::regclass)`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of INDEXES) {
    await sql`ALTER INDEX ${sql.id(index)} RESET (fastupdate)`.execute(db);
  }
}
