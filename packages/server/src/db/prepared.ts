import type { Kysely, QueryResult, RawBuilder } from 'kysely';

/** SQL text -> the name PostgreSQL keeps it prepared under, on each pooled connection. */
const names = new Map<string, string>();

/**
 * Runs a statement of the hot path as a named prepared statement: parsed and analysed once per
 * connection instead of at every run, and planned as PostgreSQL chooses (`plan_cache_mode` auto,
 * its default): for the send's statement (`insertMany`, nine CTEs) it takes the generic plan
 * after five runs, which saves the planning, about half of the statement's time. A/B in the
 * bench at 1000/s: PostgreSQL's CPU per 1000 sends 0.39 s against 0.52 planned at every run, ack
 * p50 3.2-3.4 ms against 4.4; embedded, ack p50 3.8-4.2 ms against 6.4-6.5 (docs/PERFORMANCE.md).
 * A generic plan is made once and kept: the statement must be written so that it stays good as
 * the tables grow (see insertMany's OFFSET 0). PostgreSQL makes it anew when ANALYZE changes
 * its tables' statistics; PGlite, which has no autovacuum, every minute (pglite-thread.ts).
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
