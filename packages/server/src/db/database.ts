import {
  Kysely,
  Migrator,
  type KyselyConfig,
  PostgresDialect,
  sql,
  type PostgresPool,
  type PostgresPoolClient,
} from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { DatabaseUnavailableError, isDatabaseUnavailable } from '../errors.js';
import { startEmbedded, type EmbeddedStore } from './embedded.js';
import { migrations } from './migrations/index.js';
import { preparedName } from './prepared.js';
import type { DB } from './schema.js';

export type { DB } from './schema.js';

export interface Database {
  readonly db: Kysely<DB>;
  readonly kind: 'postgres' | 'pglite';
  /** Throws when the database does not answer within 2 s, or (embedded) could not write now. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Embedded: settles when the database's thread dies. Nothing can be stored any more; the
   * process should end, for its supervisor to start it again (main.ts).
   */
  readonly lost?: Promise<Error>;
  /** PostgreSQL's serving pool: connections, idle ones, and requests waiting for one. */
  readonly poolStats?: () => { total: number; idle: number; waiting: number };
}

/** Told of every statement the serving connection runs: its time, and whether it failed. */
export type QueryObserver = (seconds: number, failed: boolean) => void;

export interface DatabaseOptions {
  /** A PostgreSQL URL; without one the embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite's directory; `memory://` keeps it in memory (tests). */
  dataDir: string;
  /** How often PGlite checkpoints, since it never does by itself. */
  checkpointIntervalMs?: number;
  onQuery?: QueryObserver | undefined;
  /** The embedded database of `dataDir`, already starting (main.ts); else it is started here. */
  embedded?: Promise<EmbeddedStore> | undefined;
  /** Told when the search indexes' upkeep gives up for good (PostgreSQL: see searchIndexUpkeep). */
  onUpkeepStopped?: ((err: unknown) => void) | undefined;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const log = queryLog(options.onQuery);
  if (options.url) return openPostgres(options.url, log, options.onUpkeepStopped);
  const database = await openPGlite(
    options.embedded ?? startEmbedded(options.dataDir),
    options.checkpointIntervalMs ?? 60_000,
    log,
  );
  try {
    await migrate(database.db);
  } catch (err) {
    await database.close();
    throw err;
  }
  return database;
}

export async function migrate(db: Kysely<DB>): Promise<void> {
  if (await upToDate(db)) return;
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const which = failed ? `migration ${failed.migrationName}` : 'migrations';
    const why = error instanceof Error ? `: ${error.message}` : '';
    throw new Error(`${which} failed${why}`, { cause: error });
  }
}

/**
 * Whether the database holds exactly the migrations this build knows: one statement, where
 * Kysely's migrator reads the catalog twice and takes its lock (a quarter of a second of an
 * embedded start). Anything else, a new database included, goes through the migrator, which also
 * refuses a database migrated by a newer build.
 */
async function upToDate(db: Kysely<DB>): Promise<boolean> {
  let applied: string[];
  try {
    const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db);
    applied = rows.map((row) => row.name);
  } catch {
    return false; // no migration table yet; or the migrator will report what is wrong
  }
  const known = Object.keys(migrations);
  return applied.length === known.length && known.every((name) => applied.includes(name));
}

/** Connections of the serving pool. */
const POOL_SIZE = 10;

/**
 * How long we wait on PostgreSQL before answering `unavailable` (README, "When PostgreSQL goes
 * away"). A request makes a few queries; with the outage gate below only its first one can wait,
 * so every request is answered well within 10 s even when the database path drops every packet.
 */
export const POSTGRES_TIMEOUTS = {
  /** A new connection, and a wait for a free pool slot (pg-pool uses one setting for both). */
  connectMs: 3000,
  /** PostgreSQL cancels a statement running longer (lock waits included): the server answers. */
  statementMs: 4000,
  /** The client gives up on a query with no answer at all: the path or the server is gone. */
  queryMs: 5000,
  /** TCP keep-alive probes on idle connections, so a dead peer is noticed without traffic. */
  keepAliveDelayMs: 10_000,
  /** The health check's own budget. */
  pingMs: 2000,
} as const;

/** Kysely's log hook, timing each statement, when someone listens. */
function queryLog(onQuery: QueryObserver | undefined): KyselyConfig['log'] {
  if (!onQuery) return undefined;
  return (event) => onQuery(event.queryDurationMillis / 1000, event.level === 'error');
}

async function openPostgres(
  url: string,
  log: KyselyConfig['log'],
  onUpkeepStopped: (err: unknown) => void = () => {},
): Promise<Database> {
  // Migrations run apart, free of the statement timeouts: building an index may take minutes.
  const migrator = new Kysely<DB>({
    dialect: new PostgresDialect({
      pool: postgresPool(url, 1, { connectionTimeoutMillis: POSTGRES_TIMEOUTS.connectMs }),
    }),
  });
  try {
    await migrate(migrator);
  } finally {
    await migrator.destroy();
  }
  const t = POSTGRES_TIMEOUTS;
  const pool = postgresPool(url, POOL_SIZE, {
    connectionTimeoutMillis: t.connectMs,
    statement_timeout: t.statementMs,
    query_timeout: t.queryMs,
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: gatedPool(pool) }), log });
  // Also what makes close() final: Kysely only ends a pool it has used.
  try {
    await sql`SELECT 1`.execute(db);
  } catch (err) {
    await pool.end();
    throw err;
  }
  const upkeep = searchIndexUpkeep(url, onUpkeepStopped);
  let closing: Promise<void> | undefined;
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await withTimeout(sql`SELECT 1`.execute(db), t.pingMs);
    },
    close: () => (closing ??= Promise.all([upkeep.stop(), db.destroy()]).then(() => {})),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

/** How often the search indexes' pending lists are merged on PostgreSQL. */
const SEARCH_UPKEEP_MS = 1000;

/**
 * On PostgreSQL a stored message's search entries wait in the indexes' pending lists (migration
 * 2026-12-07T0100): merged many at a time, they cost about half as much as one message's at a
 * time. This merges them every second, over a connection of its own (so in a backend beside the
 * serving ones, and never in the serving pool's way nor in its outage gate), so that no send
 * waits for it: autovacuum comes round once a minute at best, and an insert that finds a list
 * over `gin_pending_list_limit` (4 MB) merges it itself while its sends wait (50-70 ms).
 * Several processes may all do it: their merges take turns, and one that finds the list empty
 * returns at once. A passing failure is not told: an outage is the health check's to report, and
 * what one merge missed the next takes; giving up for good is (`stopped`).
 */
function searchIndexUpkeep(
  url: string,
  stopped: (err: unknown) => void,
): { stop(): Promise<void> } {
  const pool = postgresPool(url, 1, {
    // Seen as such in pg_stat_activity; and short waits, so that a shutdown during an outage
    // waits for its merge no more than 3 s.
    application_name: 'parley-search-upkeep',
    statement_timeout: 2000,
    connectionTimeoutMillis: 1000,
    query_timeout: 2000,
  });
  let merging: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    merging ??= pool
      .query(
        `SELECT gin_clean_pending_list('messages_search_words_idx'::regclass),
           gin_clean_pending_list('messages_search_trgm_idx'::regclass)`,
      )
      .catch((err: unknown) => {
        // No such index or no right to merge it (42xxx), a read-only server (25xxx): no later
        // merge would do better, and each would put an error in PostgreSQL's log. Inserts then
        // merge the lists themselves, as they would without this.
        if (/^(42|25)/.test(String((err as { code?: unknown }).code))) {
          clearInterval(timer);
          stopped(err);
        }
      })
      .finally(() => (merging = undefined));
  }, SEARCH_UPKEEP_MS).unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await merging;
      await pool.end();
    },
  };
}

function postgresPool(url: string, max: number, options: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    keepAlive: true,
    keepAliveInitialDelayMillis: POSTGRES_TIMEOUTS.keepAliveDelayMs,
    ...options,
  });
  // No database error may end the process. pg-pool listens for errors only on idle clients and
  // re-emits them here; a checked-out client whose connection dies (the backend terminated,
  // PostgreSQL restarted) emits 'error' with nobody listening, which throws. So every client
  // gets a listener of its own for its whole life; its queries fail, and the pool drops it.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * The pool as Kysely sees it, with two rules for a database that went away:
 * - a connection that lost its server (or left a query unanswered) fails its next queries at
 *   once, instead of each waiting out the timeout, and leaves the pool when released;
 * - once a query found the database unreachable, one request at a time probes it while the
 *   others are answered `unavailable` at once; the first query that gets an answer ends it.
 */
function gatedPool(pool: pg.Pool): PostgresPool {
  let down = false;
  let probe: { since: number } | undefined;
  const outcome = (lost: boolean) => {
    down = lost;
    probe = undefined;
  };
  // A probe cannot outlive its timeouts; this only guards against one that was never settled.
  const probing = () =>
    probe !== undefined &&
    Date.now() - probe.since < POSTGRES_TIMEOUTS.connectMs + POSTGRES_TIMEOUTS.queryMs;

  return {
    connect: async () => {
      let mine: typeof probe;
      if (down) {
        if (probing()) throw new DatabaseUnavailableError('the database is unreachable');
        probe = mine = { since: Date.now() };
      }
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        // pg-pool times out a wait for a free connection like a connection attempt. With every
        // connection of the pool out, that says the pool is busy, not that the database is gone:
        // this call is answered `unavailable`, and the others go on as before.
        if (pool.totalCount < POOL_SIZE) outcome(true);
        else if (mine && probe === mine) probe = undefined;
        throw err;
      }
      let lost: Error | undefined;
      const wrapped = {
        query: async (text: string, values: readonly unknown[]) => {
          if (lost) throw lost;
          try {
            const name = preparedName(text);
            const result = await (name
              ? client.query({ name, text, values: values as unknown[] })
              : client.query(text, values as unknown[]));
            outcome(false);
            return result;
          } catch (err) {
            if (isConnectionLost(err)) {
              lost = err as Error;
              outcome(true);
            } else outcome(false); // it answered, with an error
            throw err;
          }
        },
        release: (destroy?: boolean) => {
          if (mine && probe === mine) probe = undefined; // released without an answer
          client.release(destroy || lost ? true : undefined);
        },
      };
      return wrapped as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

/** Lost, as opposed to answered with an error: a statement timeout leaves the connection usable. */
const isConnectionLost = (err: unknown) =>
  isDatabaseUnavailable(err) && (err as { code?: unknown }).code !== '57014';

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DatabaseUnavailableError(`the database did not answer within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function openPGlite(
  started: Promise<EmbeddedStore>,
  checkpointIntervalMs: number,
  log: KyselyConfig['log'],
): Promise<Database> {
  const { client, died, inMemory, release } = await started;
  const db = new Kysely<DB>({ dialect: new PGliteDialect(client), log });
  const checkpoint = () => sql`CHECKPOINT`.execute(db);
  // PGlite never checkpoints by itself: without this the WAL grows without bound and a reopen
  // after a crash replays all of it.
  const timer = inMemory
    ? undefined
    : setInterval(() => void checkpoint().catch(() => {}), checkpointIntervalMs).unref();
  let closed = false;
  return {
    db,
    kind: 'pglite',
    lost: died,
    ping: async () => {
      await withTimeout(sql`SELECT 1`.execute(db), POSTGRES_TIMEOUTS.pingMs);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      try {
        // Skipped on a full disk: the WAL holds every commit anyway.
        if (!inMemory) await checkpoint().catch(() => {});
        await db.destroy(); // closes the PGlite instance
      } finally {
        release();
      }
    },
  };
}
