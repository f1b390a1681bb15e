import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthResponse, Chat, Message, User } from '@parley/protocol';
import { loadConfig } from '../src/config.js';
import {
  api,
  closeSockets,
  connect,
  createDirect,
  createGroup,
  emitAck,
  registerUser,
  sendMessage,
  waitFor,
  type TestUser,
} from './helpers/client.js';
import { fetchHistory, killChildren, removeTempDirs, tempDir } from './helpers/process.js';
import { freshDatabase, startServer, type TestServer } from './helpers/server.js';

afterAll(async () => {
  closeSockets();
  await killChildren();
  removeTempDirs();
});

/**
 * Everything a user left behind is there after a restart: accounts, chats, roles, messages, read
 * marks, and the tokens their clients hold. On the embedded store by default; on a fresh
 * PostgreSQL database when DATABASE_URL is set (a restart is then a new app on the same URL).
 * The config comes from loadConfig, as in production, so the JWT secret is the one generated
 * into DATA_DIR, not a test's.
 */
describe(`restart persistence (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let drop = () => Promise.resolve();
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let direct: Chat;
  let group: Chat;
  let secretBefore: string;
  const before: { chats: Map<string, Chat[]>; direct: Message[]; group: Message[] } = {
    chats: new Map(),
    direct: [],
    group: [],
  };
  const now = (user: TestUser): TestUser => ({ ...user, api: api(server.url, user.token) });
  const chatsOf = async (user: TestUser) => {
    const res = await now(user).api.get<{ chats: Chat[] }>('/chats');
    expect(res.status).toBe(200);
    return res.body.chats;
  };

  beforeAll(async () => {
    const db = await freshDatabase();
    drop = db.drop;
    dataDir = tempDir();
    env = {
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      RATE_LIMIT_AUTH: '0',
      RATE_LIMIT_MESSAGES: '0',
      WEB_DIST: path.join(dataDir, 'no-web-client'),
      ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    };
    server = await startServer(loadConfig(env));
    alice = await registerUser(server.url, {
      email: `${Date.now()}.alice@example.com`,
      displayName: 'Alice L.',
    });
    bob = await registerUser(server.url, { email: `${Date.now()}.bob@example.com` });
    carol = await registerUser(server.url);

    direct = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);
    const send = async (content: string) => {
      const ack = await sendMessage(a, { chatId: direct.id, content, clientMessageId: content });
      if (!ack.ok) throw new Error(ack.error.message);
      return ack.message;
    };
    await send('one');
    await send('two');
    const fromBob = await bob.api.post<Message>(`/chats/${direct.id}/messages`, {
      content: 'three (bob)',
    });
    expect(fromBob.status).toBe(201);
    await send('four');
    const five = await send('five');
    await send('six');
    // Bob reads up to five: his mark is 5, one unread (six) is left.
    expect(await emitAck(b, 'message:read', { chatId: direct.id, messageId: five.id })).toEqual({
      ok: true,
    });

    group = await createGroup(alice, [bob, carol], 'Plans 🗓');
    expect(
      (await alice.api.patch(`/chats/${group.id}/participants/${bob.user.id}`, { role: 'admin' }))
        .status,
    ).toBe(200);
    const c = await connect(server.url, carol.token);
    const ack = await sendMessage(c, {
      chatId: group.id,
      content: '  spaced  out  ',
      clientMessageId: 'g1',
    });
    expect(ack.ok).toBe(true);

    for (const user of [alice, bob, carol]) before.chats.set(user.user.id, await chatsOf(user));
    before.direct = await fetchHistory(now(alice), direct.id);
    before.group = await fetchHistory(now(carol), group.id);
    secretBefore = readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8');

    // The users are still connected when the server stops, as they would be.
    await server.close();
    closeSockets();
    server = await startServer(loadConfig(env));
  }, 60_000);

  afterAll(async () => {
    closeSockets();
    await server.close();
    await drop();
  });

  it('kept the generated JWT secret in DATA_DIR', () => {
    expect(readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8')).toBe(secretBefore);
    expect(Buffer.byteLength(secretBefore.trim())).toBeGreaterThanOrEqual(32);
  });

  it('lets users log in again, by username or by email', async () => {
    const byName = await api(server.url).post<AuthResponse>('/auth/login', {
      username: alice.user.username,
      password: 'correct horse battery',
    });
    expect(byName.status).toBe(200);
    expect(byName.body.user).toMatchObject({ id: alice.user.id, display_name: 'Alice L.' });
    const byEmail = await api(server.url).post<AuthResponse>('/auth/login', {
      email: bob.user.email,
      password: 'correct horse battery',
    });
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.user.id).toBe(bob.user.id);
    const wrong = await api(server.url).post('/auth/login', {
      username: carol.user.username,
      password: 'wrong horse',
    });
    expect(wrong.status).toBe(401);
  });

  it('kept every message, in order, with its seq, sender and content', async () => {
    expect(await fetchHistory(now(bob), direct.id)).toEqual(before.direct);
    expect(before.direct.map((m) => [m.seq, m.content])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three (bob)'],
      [4, 'four'],
      [5, 'five'],
      [6, 'six'],
    ]);
    expect(await fetchHistory(now(alice), group.id)).toEqual(before.group);
    expect(before.group).toMatchObject([
      { seq: 1, content: '  spaced  out  ', client_message_id: 'g1' },
    ]);
    // A repeated clientMessageId still finds the message stored before the restart.
    const repeat = await now(carol).api.post<Message>(`/chats/${group.id}/messages`, {
      content: 'again',
      clientMessageId: 'g1',
    });
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(before.group[0]?.id);
  });

  it('kept chats, participants, roles and read marks', async () => {
    for (const user of [carol, bob]) {
      expect(comparable(await chatsOf(user))).toEqual(
        comparable(before.chats.get(user.user.id) ?? []),
      );
    }
    const bobsDirect = (before.chats.get(bob.user.id) ?? []).find((c) => c.id === direct.id);
    expect(bobsDirect?.unread_count).toBe(1);
    const marks = Object.fromEntries(
      (bobsDirect?.participants ?? []).map((p) => [p.id, p.last_read_seq] as const),
    );
    expect(marks).toEqual({ [alice.user.id]: 6, [bob.user.id]: 5 });
    const roles = (await now(carol).api.get<Chat>(`/chats/${group.id}`)).body.participants.map(
      (p) => [p.id, p.role],
    );
    expect(Object.fromEntries(roles)).toEqual({
      [alice.user.id]: 'owner',
      [bob.user.id]: 'admin',
      [carol.user.id]: 'member',
    });
  });

  it('shows the users who were online at shutdown as offline, with when they were last seen', async () => {
    const res = await now(carol).api.get<User>(`/users/${alice.user.id}`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('offline');
    expect(res.body.last_seen_at).not.toBeNull();
  });
  // Last: it sends a message and brings users online.
  it('accepts the tokens issued before the restart, over HTTP and on sockets', async () => {
    const me = await now(alice).api.get<{ user: User }>('/auth/me');
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ id: alice.user.id, username: alice.user.username });

    // An old token's socket is in its chats' rooms again: the next message reaches it.
    const b = await connect(server.url, bob.token);
    const a = await connect(server.url, alice.token);
    const arrived = waitFor(b, 'message:new', (m) => m.chat_id === direct.id);
    const ack = await sendMessage(a, {
      chatId: direct.id,
      content: 'after the restart',
      clientMessageId: 'seven',
    });
    expect(ack.ok && ack.message.seq).toBe(7);
    expect(await arrived).toMatchObject({ seq: 7, content: 'after the restart' });
  });

  // A start skips the migrator when the database holds exactly this build's migrations. One that a
  // newer build migrated must still be refused, not served with a schema this build does not know.
  it('refuses to start on a database migrated by a newer build, naming the migration', async () => {
    const future = '2099-01-01T0000_future';
    await sql`INSERT INTO kysely_migration (name, timestamp) VALUES (${future}, ${new Date().toISOString()})`.execute(
      server.app.database.db,
    );
    await server.close();
    closeSockets();
    await expect(startServer(loadConfig(env))).rejects.toThrow(future);
  });
});

/** A chat list without presence (status and last seen change with every connect). */
function comparable(chats: Chat[]) {
  return chats.map((c) => ({
    ...c,
    participants: c.participants.map(({ status: _s, last_seen_at: _l, ...p }) => p),
  }));
}
