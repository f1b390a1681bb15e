import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { freshDatabase } from './helpers/server.js';

// PostgreSQL only (vitest.config.ts): PGlite keeps its search indexes without pending lists.
describe("PostgreSQL: the search indexes' upkeep", () => {
  it('merges the pending lists over a connection of its own, which close() ends', async () => {
    const fresh = await freshDatabase();
    const admin = await openDatabase({ url: fresh.databaseUrl, dataDir: 'memory://' });
    const upkeepBackends = async () => {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = 'parley-search-upkeep' AND datname = current_database()`.execute(
        admin.db,
      );
      return rows[0]?.n ?? 0;
    };
    const database = await openDatabase({ url: fresh.databaseUrl, dataDir: 'memory://' });
    try {
      // New messages' search entries wait in the list (fastupdate on) until a merge takes them.
      const { rows } = await sql<{ options: string[] }>`SELECT reloptions AS options
        FROM pg_class WHERE relname = 'messages_search_words_idx'`.execute(database.db);
      expect(rows[0]?.options).toEqual(['fastupdate=on']);
      const deadline = Date.now() + 10_000;
      while ((await upkeepBackends()) < 2 && Date.now() < deadline) await sleep(200);
      // One for each of the two open databases, none of the serving pool's.
      expect(await upkeepBackends()).toBe(2);
    } finally {
      await database.close();
    }
    expect(await upkeepBackends()).toBe(1);
    await admin.close();
    await fresh.drop();
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
