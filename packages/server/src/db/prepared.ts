import type { Compilable, Kysely, QueryResult, RawBuilder } from 'kysely';

/** SQL text -> the name PostgreSQL keeps it prepared under, on each connection; and back. */
const names = new Map<string, string>();
const texts = new Map<string, string>();

/**
 * Runs a statement of the hot path as a named prepared statement: parsed and analysed once per
 * connection instead of at every run, and planned as PostgreSQL chooses (`plan_cache_mode` auto,
 * its default): for the send's statement (`insertMany`, nine CTEs) it takes the generic plan
 * after five runs, which saves the planning, about half of the statement's time (measured in
 * docs/PERFORMANCE.md, "Prepared statements").
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
  /** A `sql` template, or a query built with `db` (its text then also never varies). */
  query: RawBuilder<R> | Compilable<R>,
): Promise<QueryResult<R>> {
  const compiled = 'isRawBuilder' in query ? query.compile(db) : query.compile();
  // One name, one text: pg refuses a second text under a known name on every connection that
  // has the first, and the PGlite thread would prepare them in turn at every run.
  const known = names.get(compiled.sql);
  if (known === undefined) {
    if (texts.has(name)) throw new Error(`statement ${name} is prepared already with another text`);
    names.set(compiled.sql, name);
    texts.set(name, compiled.sql);
  } else if (known !== name) throw new Error(`statement ${name} is prepared already as ${known}`);
  return db.executeQuery(compiled);
}

/** The prepared statement name of this text, if it is one (for pg, and for PGlite's thread). */
export const preparedName = (text: string): string | undefined => names.get(text);
