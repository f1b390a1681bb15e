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
import { DatabaseUnavailableError, fsReason } from '../errors.js';
import { acquireLock } from './lock.js';
import { startPGliteThread, type PGliteClient } from './pglite-thread.js';

/**
 * The embedded database's side of the process, before Kysely: DATA_DIR checked and locked, the
 * cluster created if new, PGlite started in its thread, every statement guarded by the disk
 * reserve. It imports neither Kysely nor pg, so that main.ts can start it before loading them.
 */

/** A started embedded database, for `openDatabase` to wrap. */
export interface EmbeddedStore {
  /** PGlite as the dialect uses it, guarded by the disk reserve (not in memory). */
  readonly client: PGliteClient;
  /** Settles when PGlite's thread dies: see Database.lost. */
  readonly died: Promise<Error>;
  /** `memory://`: nothing to checkpoint, no lock. */
  readonly inMemory: boolean;
  /** Gives up DATA_DIR's lock (after the client is closed). */
  readonly release: () => void;
}

/** Checks and locks DATA_DIR (or takes a fresh in-memory cluster) and starts PGlite. */
export async function startEmbedded(dataDir: string): Promise<EmbeddedStore> {
  const inMemory = dataDir === 'memory://';
  let release = () => {};
  let dir = dataDir;
  if (!inMemory) {
    assertWritable(dataDir);
    dir = path.join(dataDir, 'pglite');
    release = acquireLock(`${dir}.lock`);
  }
  try {
    if (!inMemory && !existsSync(path.join(dir, 'PG_VERSION'))) await initdbApart(dir);
    // With a directory, a commit reaches the files before the query returns (never fsynced):
    // it survives a killed process, not a power loss. synchronous_commit stays on: PGlite has
    // no background writer, so an async commit would be lost on a kill. Message search
    // (migration 2026-12-04T0200_search) indexes through pg_trgm and unaccent: the thread loads
    // both at every start, since every insert of a message runs their functions.
    const thread = await startPGliteThread({
      ...(inMemory ? { loadDataDir: await freshInMemory() } : { dataDir: dir }),
      // PostgreSQL's 128 MB of shared buffers sit in WebAssembly memory on top of the operating
      // system's cache of the same files (PGlite reads them through Node's fs): 16 MB holds a
      // chat's hot pages and leaves the rest to that cache. Resident memory after start: 166
      // vs 289 MB (docs/PERFORMANCE.md).
      settings: ['-c', 'shared_buffers=16MB'],
    });
    return {
      client: inMemory ? thread : guardStorage(thread, dataDir),
      died: thread.died,
      inMemory,
      release,
    };
  } catch (err) {
    release();
    throw err;
  }
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
