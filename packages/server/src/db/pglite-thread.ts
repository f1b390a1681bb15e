import { Worker } from 'node:worker_threads';
import { DatabaseUnavailableError } from '../errors.js';
import { preparedName } from './prepared.js';

/** What the Kysely dialect asks of PGlite: statements, one at a time, and closing. */
export interface PGliteClient {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; affectedRows?: number }>;
  close(): Promise<void>;
}

export interface PGliteThread extends PGliteClient {
  /** Settles when the thread dies other than by close(): no statement can run any more. */
  readonly died: Promise<Error>;
}

export interface PGliteThreadOptions {
  /** The cluster's directory, or none with `loadDataDir` (in memory). */
  dataDir?: string;
  /** A dumped cluster to start from, in memory. */
  loadDataDir?: Blob;
  /** PostgreSQL settings added to PGlite's own start parameters: `['-c', 'name=value', ...]`. */
  settings: string[];
}

/**
 * The fields of a database error that callers read (the SQLSTATE, the constraint, the words):
 * copied by name, since a thread's message carries an Error's message and nothing else. Never the
 * statement or its parameters (PGlite adds both to its errors), nor `detail`, which can quote a
 * whole row ("Failing row contains ..."): all of them may hold message bodies, and errors are
 * logged.
 */
const ERROR_FIELDS = [
  'code',
  'severity',
  'hint',
  'constraint',
  'table',
  'column',
  'schema',
  'routine',
  'where',
  'position',
];

/**
 * The thread's side, plain CommonJS run with `eval` (it is the same text under tsx, vitest and the
 * bundle). It answers one message after another, in order; the dialect sends one at a time.
 */
const THREAD_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const FIELDS = ${JSON.stringify(ERROR_FIELDS)};
const plain = (err) => {
  const out = { name: err && err.name, message: String((err && err.message) || err) };
  for (const f of FIELDS) if (err && err[f] !== undefined) out[f] = err[f];
  return out;
};
(async () => {
  const [{ PGlite, protocol, parse }, { pg_trgm }, { unaccent }] = await Promise.all([
    import(workerData.modules.pglite),
    import(workerData.modules.pg_trgm),
    import(workerData.modules.unaccent),
  ]);
  const { settings, ...options } = workerData.options;
  const db = await PGlite.create({
    ...options,
    startParams: [...PGlite.defaultStartParams, ...settings],
    extensions: { pg_trgm, unaccent },
  });
  const { serialize } = protocol;
  const join = (parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  // name -> { text, types: the parameters' type oids, at: when it was prepared }
  const prepared = new Map();
  const runPrepared = async (name, text, params) => {
    if (db.closed) throw new Error('PGlite is closed');
    let statement = prepared.get(name);
    if (!statement || statement.text !== text || Date.now() - statement.at > workerData.replanAfterMs) {
      prepared.delete(name);
      const { messages } = await db.execProtocol(join([
        serialize.close({ type: 'S', name }),
        serialize.parse({ name, text, types: [] }),
        serialize.describe({ type: 'S', name }),
        serialize.sync(),
      ]));
      const described = messages.find((m) => m.name === 'parameterDescription');
      if (!described) throw new Error('PGlite did not describe the parameters of ' + name);
      statement = { text, types: described.dataTypeIDs, at: Date.now() };
      prepared.set(name, statement);
    }
    // As PGlite's own query() turns values into text: by each parameter's type.
    const values = (params || []).map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = db.serializers[statement.types[i]];
      return serializer ? serializer(value) : value.toString();
    });
    // Bind, describe, execute and sync in one call into PostgreSQL, where query() makes six.
    try {
      const { messages } = await db.execProtocol(join([
        serialize.bind({ statement: name, values }),
        serialize.describe({ type: 'P' }),
        serialize.execute({}),
        serialize.sync(),
      ]));
      return parse.parseResults(messages, db.parsers)[0];
    } catch (err) {
      // Whatever failed (a constraint, or the statement itself: gone, or its result changed by a
      // migration), the next run prepares it anew rather than repeat a broken one for a minute.
      prepared.delete(name);
      throw err;
    }
  };
  const handle = async ({ id, text, params, name, close }) => {
    if (close) {
      await db.close().catch(() => {});
      parentPort.postMessage({ id, closed: true });
      // Nothing left to keep the thread alive: it ends by itself (so that --cpu-prof writes its
      // profile, which a terminated thread never does).
      parentPort.close();
      return;
    }
    try {
      const { rows, affectedRows } = name
        ? await runPrepared(name, text, params)
        : await db.query(text, params);
      parentPort.postMessage({ id, rows, affectedRows });
    } catch (err) {
      parentPort.postMessage({ id, error: plain(err) });
    }
  };
  // One message after another: a prepared statement's calls into PostgreSQL (execProtocol)
  // must never fall between the steps of a query() in flight, which PGlite's own lock orders
  // only among query() calls.
  let last = Promise.resolve();
  parentPort.on('message', (message) => {
    // handle() answers its own errors; a failure past it must not stop every later message.
    last = last.then(() => handle(message)).catch(() => {});
  });
  parentPort.postMessage({ ready: true });
})().catch((err) => parentPort.postMessage({ failed: plain(err) }));
`;

/**
 * How long PGlite keeps a prepared statement (db/prepared.ts) before it parses and plans it anew.
 * PostgreSQL re-plans a cached statement when ANALYZE or DDL touches its tables, and PGlite has
 * no autovacuum to run ANALYZE: without this, a plan chosen while the tables were small (a new
 * server's first send) would stay for the process's life as they grow. Once a minute costs one
 * parse and the first six plannings of each prepared statement (PostgreSQL plans five times for
 * the parameters before it settles on the generic plan), a few milliseconds a minute.
 */
const REPLAN_AFTER_MS = 60_000;

/** How long closing waits for PGlite before the thread is stopped regardless. */
const CLOSE_WAIT_MS = 5000;

interface Reply {
  id?: number;
  ready?: true;
  closed?: true;
  failed?: Record<string, unknown>;
  rows?: unknown[];
  affectedRows?: number;
  error?: Record<string, unknown>;
}

const revive = (fields: Record<string, unknown>): Error =>
  Object.assign(new Error(String(fields.message)), fields);

/**
 * The embedded database in a worker thread of its own. PGlite runs PostgreSQL as WebAssembly on
 * the thread that calls it: in the server's thread, every statement (a millisecond and more)
 * stopped Socket.IO's work, and the server used one core of two. Here the database and the sockets
 * run side by side, and the event loop waits for no statement.
 *
 * A thread that dies (or a PGlite that fails to start) fails every statement waiting and every
 * later one as `unavailable`, and settles `died`.
 */
export async function startPGliteThread(options: PGliteThreadOptions): Promise<PGliteThread> {
  const worker = new Worker(THREAD_SOURCE, {
    eval: true,
    workerData: {
      options,
      replanAfterMs: REPLAN_AFTER_MS,
      modules: {
        pglite: import.meta.resolve('@electric-sql/pglite'),
        pg_trgm: import.meta.resolve('@electric-sql/pglite/contrib/pg_trgm'),
        unaccent: import.meta.resolve('@electric-sql/pglite/contrib/unaccent'),
      },
    },
  });
  const waiting = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (e: Error) => void }
  >();
  let lastId = 0;
  let failure: Error | undefined;
  let closing = false;
  let died = (_err: Error) => {};
  const death = new Promise<Error>((resolve) => (died = resolve));
  const fail = (err: Error) => {
    failure ??= err;
    for (const { reject } of waiting.values()) reject(failure);
    waiting.clear();
  };
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (reply: Reply) => {
      if (reply.ready) return resolve();
      if (reply.failed) {
        reject(revive(reply.failed));
        return;
      }
      const entry = reply.id === undefined ? undefined : waiting.get(reply.id);
      if (!entry || reply.id === undefined) return;
      waiting.delete(reply.id);
      if (reply.error) entry.reject(revive(reply.error));
      else entry.resolve(reply);
    });
    worker.on('error', (err) => {
      reject(err);
      fail(new DatabaseUnavailableError(`the embedded database failed: ${err.message}`));
    });
    worker.on('exit', (code) => {
      reject(new Error(`the embedded database's thread exited with ${code}`));
      fail(new DatabaseUnavailableError('PGlite is closed'));
      const why = failure?.message ?? 'PGlite is closed';
      if (!closing) died(new Error(`the embedded database's thread exited with ${code}: ${why}`));
    });
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  try {
    await ready;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  const ask = (message: object): Promise<Reply> => {
    if (failure) return Promise.reject(failure);
    const id = ++lastId;
    return new Promise<Reply>((resolve, reject) => {
      // Posted first: a value that cannot cross (postMessage throws) leaves nothing waiting.
      worker.postMessage({ ...message, id });
      waiting.set(id, { resolve, reject });
    });
  };
  return {
    died: death,
    query: async (text, params) => {
      const { rows = [], affectedRows } = await ask({ text, params, name: preparedName(text) });
      return { rows, ...(affectedRows === undefined ? {} : { affectedRows }) };
    },
    close: async () => {
      closing = true;
      // PGlite closes in milliseconds; one that does not answer (frozen by a failed write, see
      // guardStorage) is stopped all the same.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
      if (!failure) {
        void ask({ close: true }).catch(() => {});
        await Promise.race([exited, late]);
      }
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}
