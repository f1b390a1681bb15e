import { sql } from 'kysely';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
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
    // The backend leaves pg_stat_activity a moment after its client has hung up.
    const gone = Date.now() + 5_000;
    while ((await upkeepBackends()) > 1 && Date.now() < gone) await sleep(100);
    expect(await upkeepBackends()).toBe(1);
    await admin.close();
    await fresh.drop();
  });

  it('gives up, and says so once, when it may not merge (a role that does not own the indexes)', async () => {
    const fresh = await freshDatabase();
    const owner = await openDatabase({ url: fresh.databaseUrl, dataDir: 'memory://' });
    // Roles are the cluster's, not the database's: made here, dropped whatever happens.
    const role = `parley_reader_${randomBytes(4).toString('hex')}`;
    // With a password, in case the server asks for one (the CI's trusts local connections).
    const password = randomBytes(12).toString('hex');
    await sql`CREATE ROLE ${sql.id(role)} LOGIN PASSWORD ${sql.lit(password)}`.execute(owner.db);
    const stopped: unknown[] = [];
    try {
      await sql`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${sql.id(role)}`.execute(owner.db);
      const url = new URL(fresh.databaseUrl!);
      url.username = role;
      url.password = password;
      const reader = await openDatabase({
        url: url.toString(),
        dataDir: 'memory://',
        onUpkeepStopped: (err) => stopped.push(err),
      });
      try {
        await vi.waitFor(() => expect(stopped).toHaveLength(1), { timeout: 5000 });
        expect(stopped[0]).toMatchObject({ code: '42501' }); // must be the index's owner
        await sleep(2500); // two more upkeep periods: no second try, no second word
        expect(stopped).toHaveLength(1);
      } finally {
        await reader.close();
      }
    } finally {
      await owner.close();
      await fresh.drop();
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP ROLE IF EXISTS ${role}`).finally(() => admin.end());
    }
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
