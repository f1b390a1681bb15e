import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type DB } from '../src/db/database.js';
import { executePrepared } from '../src/db/prepared.js';
import { freshDatabase } from './helpers/server.js';

// The hot path's statements run as named prepared statements (db/prepared.ts), on PostgreSQL
// through pg and on the embedded database through PGlite's wire protocol, which the thread drives
// itself (db/pglite-thread.ts). What a caller sees must not change: the same values back, the same
// errors, and a database that goes on answering after one.
describe(`prepared statements (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: Database;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const fresh = await freshDatabase();
    drop = fresh.drop;
    database = await openDatabase({ url: fresh.databaseUrl, dataDir: 'memory://' });
  });

  afterAll(async () => {
    await database?.close();
    await drop?.();
  });

  const divide = (by: number, db: Kysely<DB> = database.db) =>
    executePrepared(
      db,
      'test_divide',
      sql<{ ids: string[]; at: Date; words: string[]; quotient: number }>`
        SELECT ${['6f1d7c52-3f4e-4a8b-9c1d-2e3f4a5b6c7d', 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d']}::uuid[]
          AS ids, ${new Date('2026-12-02T10:00:00.123Z')}::timestamptz AS at,
          ${['plain', 'with "quotes", commas', null, '{braces}']}::text[] AS words,
          (12 / ${by}::int)::int AS quotient`,
    );

  it('returns arrays, times and numbers as the plain statement does', async () => {
    const { rows } = await divide(4);
    expect(rows).toEqual([
      {
        ids: ['6f1d7c52-3f4e-4a8b-9c1d-2e3f4a5b6c7d', 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d'],
        at: new Date('2026-12-02T10:00:00.123Z'),
        words: ['plain', 'with "quotes", commas', null, '{braces}'],
        quotient: 3,
      },
    ]);
  });

  it('fails as a statement fails, then runs again, and leaves the database answering', async () => {
    await expect(divide(0)).rejects.toMatchObject({ code: '22012' }); // division_by_zero
    expect((await divide(2)).rows[0]?.quotient).toBe(6);
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(database.db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('runs inside a transaction, which a failure in it rolls back whole', async () => {
    await expect(
      database.db.transaction().execute(async (trx) => {
        await sql`CREATE TEMP TABLE prepared_probe (n int)`.execute(trx);
        await sql`INSERT INTO prepared_probe VALUES (${(await divide(3, trx)).rows[0]?.quotient})`.execute(
          trx,
        );
        await divide(0, trx);
      }),
    ).rejects.toMatchObject({ code: '22012' });
    // Rolled back: the table made in the transaction is gone.
    await expect(sql`SELECT n FROM prepared_probe`.execute(database.db)).rejects.toMatchObject({
      code: '42P01',
    });
    expect((await divide(6)).rows[0]?.quotient).toBe(2);
  });
});
