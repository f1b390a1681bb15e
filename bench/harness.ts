// What every benchmark shares: the real server in its own process, on the embedded store in a
// temporary DATA_DIR or, with DATABASE_URL, on a fresh PostgreSQL database; all removed after.
import { closeSockets } from '../packages/server/test/helpers/client.js';
import {
  killChildren,
  removeTempDirs,
  startChild,
  tempDir,
} from '../packages/server/test/helpers/process.js';
import { freshDatabase } from '../packages/server/test/helpers/server.js';

export async function withServer(
  run: (url: string, database: 'pglite (on disk)' | 'postgres') => Promise<void>,
): Promise<void> {
  const { databaseUrl, drop } = await freshDatabase();
  // A benchmark sends faster than one user may: the limits would measure themselves.
  const server = await startChild({
    dataDir: tempDir('parley-bench-'),
    databaseUrl,
    env: { RATE_LIMIT_EVENTS: '0', RATE_LIMIT_MESSAGES: '0' },
  });
  try {
    await run(server.url, databaseUrl ? 'postgres' : 'pglite (on disk)');
  } finally {
    closeSockets();
    await server.stop('SIGTERM');
    await killChildren();
    removeTempDirs();
    await drop();
  }
}

/** The p-th percentile of ascending `sorted`, in milliseconds with `digits` decimals. */
export const percentile = (sorted: readonly number[], p: number, digits = 2): number =>
  Number(
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(digits),
  );
