import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type DB } from '../src/db/database.js';
import { executePrepared } from '../src/db/prepared.js';
import { freshDatabase } from './helpers/server.js';

// The hot path's statements run as named prepared statements (db/prepared.ts), on PostgreSQL
// through pg and on the embedded database through PGlite's wire protocol, which the thread drives
// itself (db/pglite-thread.ts). What a caller sees must not change: the same values back, the same
// errors, and a database that goes on answering after one.
// Statement names are the process's: each test file runs its own.
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

  /** Every kind of value the hot path binds: arrays with awkward elements, times, null, JSON, bytes. */
  const probe = (by: number) =>
    sql<{
      ids: string[];
      at: Date;
      words: string[];
      missing: string | null;
      yes: boolean;
      doc: unknown;
      bytes: Uint8Array;
      quotient: number;
    }>`
      SELECT ${['6f1d7c52-3f4e-4a8b-9c1d-2e3f4a5b6c7d', 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d']}::uuid[]
        AS ids, ${new Date('2026-12-02T10:00:00.123Z')}::timestamptz AS at,
        ${['plain', 'with "quotes", commas', null, '{braces}', 'back\\slash']}::text[] AS words,
        ${null}::text AS missing, ${true}::boolean AS yes,
        ${JSON.stringify({ list: [1, 'two'], nested: { ok: true } })}::jsonb AS doc,
        ${Buffer.from([0, 1, 254, 255])}::bytea AS bytes,
        (12 / ${by}::int)::int AS quotient`;
  const divide = (by: number, db: Kysely<DB> = database.db) =>
    executePrepared(db, 'test_divide', probe(by));

  it('returns every kind of value exactly as the plain statement does', async () => {
    const prepared = await divide(4);
    const plain = await probe(4).execute(database.db);
    expect(prepared.rows).toEqual(plain.rows);
    expect(prepared.rows[0]).toMatchObject({
      words: ['plain', 'with "quotes", commas', null, '{braces}', 'back\\slash'],
      missing: null,
      yes: true,
      doc: { list: [1, 'two'], nested: { ok: true } },
      quotient: 3,
    });
  });

  it('is prepared once under its name, and settles on a generic plan', async () => {
    // In a transaction: one connection of the pool, whose prepared statements the view shows.
    const runs = await database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 7; i++) await divide(4, trx);
      const { rows } = await sql<{ generic: number }>`
        SELECT generic_plans::int AS generic FROM pg_prepared_statements
        WHERE name = 'test_divide'`.execute(trx);
      return rows;
    });
    expect(runs).toHaveLength(1);
    expect(runs[0]?.generic).toBeGreaterThan(0);
  });

  it('refuses a second text under a name in use', async () => {
    await divide(4);
    expect(() => executePrepared(database.db, 'test_divide', sql`SELECT 1`)).toThrow(
      /prepared already with another text/,
    );
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
