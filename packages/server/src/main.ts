// Reads config, builds the app, listens, handles signals: nothing more.
import { ConfigError, loadConfig } from './config.js';
import type { ParleyApp } from './app.js';
import { DataDirUnwritableError, openConfiguredDatabase } from './db/database.js';
import { DataDirLockedError } from './db/lock.js';
import { createLogger } from './logger.js';
import { Metrics } from './metrics.js';

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
let stopping: NodeJS.Signals | undefined;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = signal;
  log.info({ signal }, 'shutting down');
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
      process.exit(0);
    },
    (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

try {
  // The database opens first (the embedded one boots in a thread of its own) while the rest of
  // the server loads: start to `listening` is the longer of the two, not their sum.
  const metrics = new Metrics();
  const database = openConfiguredDatabase(config, metrics.observeQuery);
  database.catch(() => {}); // awaited by createApp; this only keeps it from counting as unhandled
  const { createApp } = await import('./app.js');
  const created = await createApp(config, log, { database, metrics });
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
  process.exit(1);
}
