import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { acquireLock } from './lock.js';
import { migrations } from './migrations/index.js';
import type { DB } from './schema.js';

export type { DB } from './schema.js';

export interface Database {
  readonly db: Kysely<DB>;
  readonly kind: 'postgres' | 'pglite';
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A PostgreSQL URL; without one the embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite's directory; `memory://` keeps it in memory (tests). */
  dataDir: string;
  /** How often PGlite checkpoints, since it never does by itself. */
  checkpointIntervalMs?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const database = options.url
    ? openPostgres(options.url)
    : await openPGlite(options.dataDir, options.checkpointIntervalMs ?? 60_000);
  try {
    await migrate(database.db);
  } catch (err) {
    await database.close();
    throw err;
  }
  return database;
}

export async function migrate(db: Kysely<DB>): Promise<void> {
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

function openPostgres(url: string): Database {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client's error (the server restarted) must not crash the process; the next query
  // gets a fresh connection.
  pool.on('error', () => {});
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  let closing: Promise<void> | undefined;
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    close: () => (closing ??= db.destroy()),
  };
}

async function openPGlite(dataDir: string, checkpointIntervalMs: number): Promise<Database> {
  const inMemory = dataDir === 'memory://';
  let releaseLock = () => {};
  let dir = dataDir;
  if (!inMemory) {
    mkdirSync(dataDir, { recursive: true });
    dir = path.join(dataDir, 'pglite');
    releaseLock = acquireLock(`${dir}.lock`);
  }
  let client: PGlite;
  try {
    // With a directory, a commit reaches the files before the query returns (never fsynced):
    // it survives a killed process, not a power loss. synchronous_commit stays on: PGlite has
    // no background writer, so an async commit would be lost on a kill.
    client = await PGlite.create(inMemory ? undefined : dir);
  } catch (err) {
    releaseLock();
    throw err;
  }
  const db = new Kysely<DB>({ dialect: new PGliteDialect(client) });
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
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      try {
        if (!inMemory) await checkpoint();
        await db.destroy(); // closes the PGlite instance
      } finally {
        releaseLock();
      }
    },
  };
}
