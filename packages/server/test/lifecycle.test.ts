import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '@parley/protocol';
import {
  api,
  closeSockets,
  connect,
  createDirect,
  registerUser,
  sendMessage,
  type TestUser,
} from './helpers/client.js';
import {
  fetchHistory,
  killChildren,
  removeTempDirs,
  runUntilExit,
  startChild,
  streamSends,
  tempDir,
  type ChildOptions,
  type StreamedSend,
} from './helpers/process.js';
import { freshDatabase } from './helpers/server.js';

const GRACE_MS = 10_000;
const PER_SENDER = 150;
const SIGNAL_AFTER_ACKS = 40;

let drops: (() => Promise<void>)[] = [];
afterEach(async () => {
  closeSockets();
  await killChildren();
  await Promise.all(drops.map((drop) => drop()));
  drops = [];
  removeTempDirs();
});

/** A fresh store for one test: the suite's PostgreSQL when DATABASE_URL is set, else PGlite in a new DATA_DIR. */
async function freshStore(env: Record<string, string> = {}): Promise<ChildOptions> {
  const { databaseUrl, drop } = await freshDatabase();
  drops.push(drop);
  return { dataDir: tempDir(), databaseUrl, env };
}

/** A REST client's stream of sends, paced like the socket senders, until the server is gone. */
async function restStream(
  url: string,
  user: TestUser,
  chatId: string,
  prefix: string,
  count: number,
  onAnswer: (send: StreamedSend) => void,
): Promise<StreamedSend[]> {
  const sends: StreamedSend[] = [];
  const client = api(url, user.token);
  let gone = false;
  for (let i = 1; i <= count; i++) {
    const clientMessageId = `${prefix}-${i}`;
    const content = `${prefix} message ${i}`;
    let outcome: StreamedSend['outcome'];
    if (gone) {
      outcome = { kind: 'closed', emitted: false };
    } else {
      try {
        // One connection per request: what keep-alive does to a shutdown has its own test below.
        const res = await client.request<Message & { error?: { code: string } }>(
          'POST',
          `/chats/${chatId}/messages`,
          { content, clientMessageId },
          { connection: 'close' },
        );
        outcome =
          res.status === 201
            ? { kind: 'ok', message: res.body }
            : { kind: 'error', code: res.body.error?.code ?? `HTTP ${res.status}` };
      } catch {
        // The connection was refused or dropped: whether it was stored, the client cannot know.
        gone = true;
        outcome = { kind: 'closed', emitted: true };
      }
    }
    const send = { clientMessageId, content, outcome };
    sends.push(send);
    onAnswer(send);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return sends;
}

describe.each([
  { signal: 'SIGTERM' as const, production: false },
  // SIGINT runs in production mode, with a JWT_SECRET of exactly the 32 bytes required.
  { signal: 'SIGINT' as const, production: true },
])('graceful shutdown on $signal', ({ signal, production }) => {
  it(`exits 0 within 10 s mid-stream, and keeps every acked message`, async () => {
    const options = await freshStore(
      production ? { NODE_ENV: 'production', JWT_SECRET: randomBytes(16).toString('hex') } : {},
    );
    const server = await startChild(options);
    const health = await api(server.url).get<{ status: string }>('/health');
    expect(health).toEqual({ status: 200, body: { status: 'ok' } });

    const alice = await registerUser(server.url);
    const bob = await registerUser(server.url);
    const chat = await createDirect(alice, bob);
    const a = await connect(server.url, alice.token);
    const b = await connect(server.url, bob.token);

    // Acked before the signal: must survive it.
    const early = await sendMessage(a, {
      chatId: chat.id,
      content: 'before the signal',
      clientMessageId: 'early',
    });
    expect(early.ok).toBe(true);

    // Three senders, paced; the signal lands while they keep sending.
    let acks = 0;
    let signalledAt = 0;
    const onAnswer = (send: StreamedSend) => {
      if (send.outcome.kind === 'ok' && ++acks === SIGNAL_AFTER_ACKS) {
        signalledAt = Date.now();
        server.process.kill(signal);
      }
    };
    const streams = await Promise.all([
      streamSends(a, chat.id, 'alice', PER_SENDER, { pauseMs: 10, onAnswer }),
      streamSends(b, chat.id, 'bob', PER_SENDER, { pauseMs: 10, onAnswer }),
      restStream(server.url, alice, chat.id, 'alice-rest', PER_SENDER, onAnswer),
    ]);
    const exit = await server.exited;
    expect(signalledAt).toBeGreaterThan(0);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS);
    // A clean stop releases the embedded store's lock.
    expect(existsSync(path.join(options.dataDir, 'pglite.lock'))).toBe(false);

    // Once shutdown began, a send was either refused with `unavailable` or met a closed
    // connection; nothing else.
    const sends = streams.flat();
    const odd = sends.filter((s) => s.outcome.kind === 'error' && s.outcome.code !== 'unavailable');
    expect(odd).toEqual([]);

    const restarted = await startChild(options);
    const history = await fetchHistory({ ...alice, api: api(restarted.url, alice.token) }, chat.id);
    expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
    const stored = new Map(history.map((m) => [m.client_message_id, m]));
    expect(stored.get('early')?.id).toBe(early.ok ? early.message.id : 'acked');

    const problems: string[] = [];
    for (const send of sends) {
      const found = stored.get(send.clientMessageId);
      if (
        send.outcome.kind === 'ok' &&
        (found?.id !== send.outcome.message.id || found.content !== send.content)
      ) {
        problems.push(`${send.clientMessageId}: acked, not stored`);
      }
      if (send.outcome.kind === 'error' && found)
        problems.push(`${send.clientMessageId}: refused, yet stored`);
      if (send.outcome.kind === 'closed' && !send.outcome.emitted && found) {
        problems.push(`${send.clientMessageId}: never sent, yet stored`);
      }
    }
    expect(problems).toEqual([]);
    expect(history.length).toBeGreaterThan(SIGNAL_AFTER_ACKS);

    expect(await restarted.stop(signal)).toEqual({ code: 0, signal: null });
  }, 90_000);
});

describe('HTTP requests in flight at the signal', () => {
  it('are answered, and their keep-alive connections do not hold the shutdown past 10 s', async () => {
    const server = await startChild(await freshStore());
    const user = await registerUser(server.url);
    // Logins are slow (Argon2), so these are still being worked on when the signal lands; each
    // keeps its connection alive afterwards, as browsers and fetch do.
    const logins = Array.from({ length: 6 }, () =>
      api(server.url)
        .post<{ error?: { code: string } }>('/auth/login', {
          username: user.user.username,
          password: 'correct horse battery',
        })
        .then(
          (res) => (res.status === 503 ? `503 ${res.body.error?.code}` : String(res.status)),
          () => 'connection closed',
        ),
    );
    await new Promise((resolve) => setTimeout(resolve, 15));
    const signalledAt = Date.now();
    server.process.kill('SIGTERM');
    const answers = await Promise.all(logins);
    for (const answer of answers)
      expect(['200', '503 unavailable', 'connection closed']).toContain(answer);

    const exit = await server.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS);
    expect(server.stdout()).not.toMatch(/shutdown took too long/);
  }, 60_000);
});

describe('the listening line', () => {
  it('names the bound port, shows a wildcard HOST as localhost, and prints at any LOG_LEVEL', async () => {
    const server = await startChild({
      dataDir: tempDir(),
      env: { HOST: '0.0.0.0', LOG_LEVEL: 'fatal' },
    });
    expect(server.url).toMatch(/^http:\/\/localhost:\d+$/);
    const line = server
      .stdout()
      .split('\n')
      .map((l) => JSON.parse(l || '{}') as { msg?: string; url?: string })
      .find((l) => l.msg === 'listening');
    expect(line?.url).toBe(server.url);
    const port = Number(new URL(server.url).port);
    expect(port).toBeGreaterThan(0);
    expect((await api(`http://127.0.0.1:${port}`).get('/health')).status).toBe(200);
  }, 90_000); // a child server's start, twice: a hang guard, not a speed bound
});

// A refused start still loads the whole server first (main.ts imports the app before reading the
// environment): on CI's busy two cores that has taken over 20 s. The limits guard against a hang.
describe('refusing to start', { timeout: 90_000 }, () => {
  const refusal = async (env: Record<string, string>) => {
    const dataDir = tempDir();
    const result = await runUntilExit({ dataDir, env }, 75_000);
    return { ...result, output: result.stderr + result.stdout, dataDir };
  };

  it('refuses REDIS_URL with the embedded database, saying why', async () => {
    const result = await refusal({ REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(result.listened).toBe(false);
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.output).toContain('REDIS_URL needs DATABASE_URL');
  });

  it('refuses NODE_ENV=production without JWT_SECRET, and generates none', async () => {
    const result = await refusal({ NODE_ENV: 'production' });
    expect(result.listened).toBe(false);
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.output).toContain('JWT_SECRET');
    expect(existsSync(path.join(result.dataDir, 'jwt-secret'))).toBe(false);
  });

  it.each([
    ['in production', { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(31) }],
    ['outside production', { JWT_SECRET: 'too-short' }],
  ])('refuses a JWT_SECRET shorter than 32 bytes %s', async (_, env) => {
    const result = await refusal(env);
    expect(result.listened).toBe(false);
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.output).toContain('JWT_SECRET');
    expect(result.output).toMatch(/32 bytes/);
  });
});
