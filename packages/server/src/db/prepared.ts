import type { Kysely, QueryResult, RawBuilder } from 'kysely';

/** SQL text -> the name PostgreSQL keeps it prepared under, on each pooled connection. */
const names = new Map<string, string>();

/**
 * Runs a statement of the hot path as a named prepared statement: parsed and analysed once per
 * connection instead of at every run.
 *
 * On PostgreSQL it is still planned at every run (`plan_cache_mode=force_custom_plan` on the
 * serving pool): PostgreSQL's generic plan for the send's statement (`insertMany`, nine CTEs) read
 * the chats and participants it locks and bumps by sequential scans, over rows that every flush
 * updates, and under sustained load it was slower than planning each time (docs/PERFORMANCE.md,
 * "Prepared statements"). On the embedded database PostgreSQL chooses (`auto`, its default), and
 * takes the generic plan: the statement for three sends took 1.1 ms where planning it each time
 * took 2.7; pglite-thread.ts prepares it anew every minute, so that the plan follows the tables.
 *
 * Only statements whose text never varies belong here: every distinct text stays prepared on
 * every connection for the connection's life.
 */
export function executePrepared<R, D>(
  db: Kysely<D>,
  name: string,
  query: RawBuilder<R>,
): Promise<QueryResult<R>> {
  const compiled = query.compile(db);
  const known = names.get(compiled.sql);
  if (known === undefined) names.set(compiled.sql, name);
  else if (known !== name) throw new Error(`statement ${name} is prepared already as ${known}`);
  return db.executeQuery(compiled);
}

/** The prepared statement name of this text, if it is one (database.ts passes it to pg). */
export const preparedName = (text: string): string | undefined => names.get(text);
