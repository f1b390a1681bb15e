// Reads config, builds the app, listens, handles signals: nothing more.
import { ConfigError, loadConfig } from './config.js';
import type { ParleyApp } from './app.js';
import { DataDirUnwritableError, startEmbedded, type EmbeddedStore } from './db/embedded.js';
import { DataDirLockedError } from './db/lock.js';
import { createLogger } from './logger.js';

const FORCE_EXIT_MS = 10_000;

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`parley: ${err.message}`);
  process.exit(1);
}
const log = createLogger(config.logLevel);

// Signals are handled from the first moment: one that arrives while the app starts is acted on
// as soon as it is up, so a supervisor's SIGTERM always ends in a graceful exit.
let app: ParleyApp | undefined;
let stopping = false;
let exitCode = 0;
/** On a signal, or (an Error) when the database is gone for good: then with a failure code. */
const stop = (reason: NodeJS.Signals | Error) => {
  if (stopping) return;
  stopping = true;
  if (reason instanceof Error) {
    exitCode = 1;
    log.fatal({ err: reason }, 'the database stopped; shutting down');
  } else log.info({ signal: reason }, 'shutting down');
  setTimeout(() => {
    log.error('shutdown took too long; exiting');
    process.exit(1);
  }, FORCE_EXIT_MS).unref();
  if (app) void close(app);
};
const close = (running: ParleyApp) =>
  running.close().then(
    () => {
      log.info('stopped');
      process.exit(exitCode);
    },
    (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// What a start that fails has opened so far, closed before exiting (`abandon`).
let embedded: Promise<EmbeddedStore> | undefined;
let created: ParleyApp | undefined;
try {
  // The embedded database boots in a thread of its own while the rest of the server loads (this
  // module imports little, the app comes by a dynamic import): start to `listening` is the
  // longer of the two, not their sum.
  embedded = config.databaseUrl ? undefined : startEmbedded(config.dataDir);
  embedded?.catch(() => {}); // awaited by createApp; this only keeps it from counting as unhandled
  const { createApp } = await import('./app.js');
  created = await createApp(config, log, { embedded });
  // A database that cannot come back (the embedded one's thread died) ends the process, with a
  // failure code for its supervisor; until then every statement is answered `unavailable`.
  void created.database.lost?.then(stop);
  if (!stopping) await created.listen();
  app = created;
  if (stopping) void close(created);
} catch (err) {
  if (err instanceof DataDirLockedError || err instanceof DataDirUnwritableError) {
    log.fatal(err.message);
    console.error(`parley: ${err.message}`);
  } else {
    log.fatal({ err }, 'failed to start');
  }
  await abandon();
  process.exit(1);
}

/**
 * Closes what a failed start opened (the app, or else the embedded database it never took), so
 * that PGlite is not killed in the middle of creating a new cluster; within FORCE_EXIT_MS.
 */
async function abandon(): Promise<void> {
  const closing = created
    ? created.close()
    : embedded?.then(async ({ client, release }) => {
        try {
          await client.close();
        } finally {
          release();
        }
      });
  const late = new Promise((resolve) => setTimeout(resolve, FORCE_EXIT_MS).unref());
  await Promise.race([closing?.catch(() => {}), late]);
}
