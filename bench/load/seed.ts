// Users and group chats written straight into the database before the server starts: one
// Argon2 hash for everyone and a few multi-row statements, so that 10,000 users take seconds,
// not the hour that 10,000 sign-ups (one hash each) would. Tokens are signed here with the
// secret the server is then started with.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { SignJWT } from 'jose';
import { openDatabase } from '../../packages/server/src/db/database.js';
import { hashPassword } from '../../packages/server/src/services/passwords.js';

export interface SeedUser {
  id: string;
  username: string;
  token: string;
}

export interface SeedChat {
  id: string;
  /** Indexes into `users`. */
  members: number[];
}

export interface Seeded {
  users: SeedUser[];
  chats: SeedChat[];
}

/** Rows per statement: well under PostgreSQL's 65,535 parameters. */
const BATCH = 2_000;

/**
 * `users` accounts in groups of `groupSize` (the last one smaller), user i in group
 * floor(i / groupSize), its first member the owner.
 */
export async function seed(options: {
  databaseUrl: string | undefined;
  dataDir: string;
  users: number;
  groupSize: number;
  secret: string;
}): Promise<Seeded> {
  const database = await openDatabase({ url: options.databaseUrl, dataDir: options.dataDir });
  const { db } = database;
  try {
    const passwordHash = await hashPassword('bench-password-1');
    const users: SeedUser[] = [];
    for (let from = 0; from < options.users; from += BATCH) {
      const ids: string[] = [];
      const names: string[] = [];
      for (let i = from; i < Math.min(options.users, from + BATCH); i++) {
        ids.push(randomUUID());
        names.push(`bench${i}`);
      }
      await sql`
        INSERT INTO users (id, username, display_name, password_hash)
        SELECT id, name, name, ${passwordHash}
        FROM unnest(${ids}::uuid[], ${names}::text[]) AS t(id, name)`.execute(db);
      for (let k = 0; k < ids.length; k++)
        users.push({ id: ids[k]!, username: names[k]!, token: '' });
    }

    const chats: SeedChat[] = [];
    for (let first = 0; first < options.users; first += options.groupSize) {
      const members: number[] = [];
      for (let i = first; i < Math.min(options.users, first + options.groupSize); i++)
        members.push(i);
      chats.push({ id: randomUUID(), members });
    }
    for (let from = 0; from < chats.length; from += BATCH) {
      const batch = chats.slice(from, from + BATCH);
      await sql`
        INSERT INTO chats (id, type, name, created_by)
        SELECT id, 'group', 'Bench group', owner
        FROM unnest(${batch.map((c) => c.id)}::uuid[], ${batch.map((c) => users[c.members[0]!]!.id)}::uuid[])
          AS t(id, owner)`.execute(db);
    }
    const rows = chats.flatMap((c) =>
      c.members.map((m, k) => ({
        chat: c.id,
        user: users[m]!.id,
        role: k === 0 ? 'owner' : 'member',
      })),
    );
    for (let from = 0; from < rows.length; from += BATCH) {
      const batch = rows.slice(from, from + BATCH);
      await sql`
        INSERT INTO chat_participants (chat_id, user_id, role)
        SELECT * FROM unnest(${batch.map((r) => r.chat)}::uuid[], ${batch.map((r) => r.user)}::uuid[],
          ${batch.map((r) => r.role)}::text[])`.execute(db);
    }

    const key = new TextEncoder().encode(options.secret);
    for (const user of users) {
      user.token = await new SignJWT({ ver: 0 })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(user.id)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime('1d')
        .sign(key);
    }
    return { users, chats };
  } finally {
    await database.close();
  }
}
