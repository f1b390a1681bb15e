import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
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
import type { Config } from '../config.js';
import { DatabaseUnavailableError, fsReason, isDatabaseUnavailable } from '../errors.js';
import { acquireLock } from './lock.js';
import { startPGliteThread, type PGliteClient, type PGliteThread } from './pglite-thread.js';
import { migrations } from './migrations/index.js';
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
}

/** The database a server's config names. */
export function openConfiguredDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir' | 'checkpointIntervalMs'>,
  onQuery?: QueryObserver,
): Promise<Database> {
  return openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    checkpointIntervalMs: config.checkpointIntervalMs,
    onQuery,
  });
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const log = queryLog(options.onQuery);
  if (options.url) return openPostgres(options.url, log);
  const database = await openPGlite(options.dataDir, options.checkpointIntervalMs ?? 60_000, log);
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

async function openPostgres(url: string, log: KyselyConfig['log']): Promise<Database> {
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
  let closing: Promise<void> | undefined;
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await withTimeout(sql`SELECT 1`.execute(db), t.pingMs);
    },
    close: () => (closing ??= db.destroy()),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
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
            const result = await client.query(text, values as unknown[]);
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

/**
 * Free space the embedded database keeps in hand: below it every statement is refused with
 * `unavailable`, and health answers 503. PGlite cannot live through a full disk: once a write
 * fails with ENOSPC (a new 16 MiB WAL segment that does not fit), its next query spins forever
 * inside WebAssembly and freezes the whole process, health check included. So we stop short.
 */
export const DISK_RESERVE_BYTES = 64 * 1024 * 1024;

/**
 * Creates a new embedded database in a worker thread that then exits. PGlite's initdb grows its
 * WebAssembly memory by about 500 MB that it never gives back: done in this thread, a first start
 * kept the process at 770 MB for its whole life, against 280 MB for every later start.
 */
async function initdbApart(dir: string): Promise<void> {
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     import(workerData.pglite)
       .then(async ({ PGlite }) => {
         const db = await PGlite.create({ dataDir: workerData.dir });
         await db.close();
         parentPort.postMessage({ ok: true });
       })
       .catch((err) => parentPort.postMessage({ error: String((err && err.message) || err) }));`,
    { eval: true, workerData: { dir, pglite: import.meta.resolve('@electric-sql/pglite') } },
  );
  try {
    const answer = await new Promise<{ ok?: true; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`initdb worker exited with ${code}`)));
    });
    if (answer.error !== undefined)
      throw new Error(`creating the embedded database failed: ${answer.error}`);
  } finally {
    await worker.terminate();
  }
}

/** DATA_DIR cannot be written (read-only, full, no permission): the server refuses to start. */
export class DataDirUnwritableError extends Error {}

/**
 * A freshly initialised in-memory cluster, made once per process and copied for every later
 * `memory://` database: the test suites open dozens of them, and loading a copy takes 1.2 s where
 * initdb takes 2.9 (an idle machine). Each copy is independent; nothing is shared but the bytes.
 */
let pristine: Promise<Blob> | undefined;
function freshInMemory(): Promise<Blob> {
  pristine ??= (async () => {
    // Loaded here, not at the top: a server on a directory never needs PGlite in this thread.
    const [{ PGlite }, { pg_trgm }, { unaccent }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite/contrib/pg_trgm'),
      import('@electric-sql/pglite/contrib/unaccent'),
    ]);
    const first = await PGlite.create({ extensions: { pg_trgm, unaccent } });
    try {
      return await first.dumpDataDir('none');
    } finally {
      await first.close();
    }
  })().catch((err: unknown) => {
    pristine = undefined; // the next open tries again, rather than failing for good
    throw err;
  });
  return pristine;
}

async function openPGlite(
  dataDir: string,
  checkpointIntervalMs: number,
  log: KyselyConfig['log'],
): Promise<Database> {
  const inMemory = dataDir === 'memory://';
  let releaseLock = () => {};
  let dir = dataDir;
  if (!inMemory) {
    assertWritable(dataDir);
    dir = path.join(dataDir, 'pglite');
    releaseLock = acquireLock(`${dir}.lock`);
  }
  let client: PGliteThread;
  try {
    if (!inMemory && !existsSync(path.join(dir, 'PG_VERSION'))) await initdbApart(dir);
    // With a directory, a commit reaches the files before the query returns (never fsynced):
    // it survives a killed process, not a power loss. synchronous_commit stays on: PGlite has
    // no background writer, so an async commit would be lost on a kill. Message search
    // (migration 2026-12-04T0200_search) indexes through pg_trgm and unaccent: the thread loads
    // both at every start, since every insert of a message runs their functions.
    client = await startPGliteThread({
      ...(inMemory ? { loadDataDir: await freshInMemory() } : { dataDir: dir }),
      // PostgreSQL's 128 MB of shared buffers sit in WebAssembly memory on top of the operating
      // system's cache of the same files (PGlite reads them through Node's fs): 16 MB holds a
      // chat's hot pages and leaves the rest to that cache. Resident memory after start: 166
      // vs 289 MB (docs/PERFORMANCE.md).
      settings: ['-c', 'shared_buffers=16MB'],
    });
  } catch (err) {
    releaseLock();
    throw err;
  }
  const db = new Kysely<DB>({
    dialect: new PGliteDialect(inMemory ? client : guardStorage(client, dataDir)),
    log,
  });
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
    lost: client.died,
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
        releaseLock();
      }
    },
  };
}

/** At start: DATA_DIR exists, takes a file, and has room for the embedded database. */
function assertWritable(dataDir: string): void {
  const probe = path.join(dataDir, `.write-check-${process.pid}`);
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(probe, 'ok');
    rmSync(probe);
  } catch (err) {
    rmSync(probe, { force: true });
    throw new DataDirUnwritableError(`cannot write DATA_DIR ${dataDir}: ${fsReason(err)}`);
  }
  const problem = storageProblem(dataDir);
  if (problem) throw new DataDirUnwritableError(`cannot write DATA_DIR ${dataDir}: ${problem}`);
}

/** Why the embedded database must not write to `dir` now, if it must not: cheap (two syscalls). */
function storageProblem(dir: string): string | undefined {
  try {
    accessSync(dir, constants.W_OK); // EROFS once the kernel remounts a failing disk read-only
    const { bavail, bsize } = statfsSync(dir);
    const free = bavail * bsize;
    if (free >= DISK_RESERVE_BYTES) return undefined;
    const mib = (bytes: number) => Math.floor(bytes / 1024 / 1024);
    return `${mib(free)} MiB free, under the ${mib(DISK_RESERVE_BYTES)} MiB the embedded database keeps in reserve`;
  } catch (err) {
    return fsReason(err);
  }
}

/**
 * PGlite as the dialect uses it (query and close), checked before every statement: a disk with
 * too little room or mounted read-only answers `unavailable` without touching PGlite. Should a
 * write still fail for want of storage (the disk filled between two checks), the instance is
 * not asked anything again: its next query could spin forever (in its own thread, but holding
 * the dialect's only connection). It then answers `unavailable` until the server restarts;
 * closing stops its thread.
 */
function guardStorage(client: PGliteClient, dataDir: string): PGliteClient {
  let wrecked: DatabaseUnavailableError | undefined;
  return {
    query: async (text: string, params?: unknown[]) => {
      if (wrecked) throw wrecked;
      // Before every statement, not from a cache: another tenant of the disk can take the whole
      // reserve at once, and a single write that then fails would freeze the process. (Two
      // syscalls, a few microseconds, against a statement's millisecond.)
      const problem = storageProblem(dataDir);
      if (problem) throw new DatabaseUnavailableError(`cannot write DATA_DIR: ${problem}`);
      try {
        return await client.query(text, params);
      } catch (err) {
        if (isStorageFailure(err)) {
          wrecked = new DatabaseUnavailableError(
            `the embedded database failed to write (${(err as Error).message}); ` +
              'restart the server once DATA_DIR has room',
          );
        }
        throw err;
      }
    },
    close: () => client.close(),
  };
}

const isStorageFailure = (err: unknown) => {
  const e = err as { code?: unknown; message?: unknown } | null;
  return (
    (typeof e?.code === 'string' && /^(53100|58030|ENOSPC|EDQUOT|EROFS|EIO)$/.test(e.code)) ||
    (typeof e?.message === 'string' && /No space left|Read-only file system/i.test(e.message))
  );
};
