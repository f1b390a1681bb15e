import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CUT_OFF_PATIENCE_MS, cutOffLine, rawSocketOf } from './helpers/backlog.js';
import {
  closeSockets,
  connect,
  createDirect,
  record,
  registerUser,
  sendMessage,
  type ClientSocket,
} from './helpers/client.js';
import {
  killChildren,
  removeTempDirs,
  startChild,
  tempDir,
  type ChildServer,
} from './helpers/process.js';
import { freshDatabase } from './helpers/server.js';

// With REDIS_URL Socket.IO's connection state recovery is on: what that changes for a client that
// floods or stops reading (flood.test.ts has the rest). PostgreSQL pass (vitest.config.ts), where
// CI gives a Redis.

const FLOOD = 3000;

afterAll(async () => {
  closeSockets();
  await killChildren();
  removeTempDirs();
});

describe.runIf(Boolean(process.env.REDIS_URL && process.env.DATABASE_URL))(
  'a client cut off, with REDIS_URL (connection state recovery on)',
  () => {
    // A process of its own (one in the test's event loop would read a flood too slowly), with a
    // key prefix of its own in the run's Redis.
    const prefix = `parley-test-${randomUUID()}:`;
    let nodes: ChildServer & { url: string };
    let dropNodes = () => Promise.resolve();
    beforeAll(async () => {
      const { databaseUrl, drop } = await freshDatabase();
      dropNodes = drop;
      nodes = await startChild({
        dataDir: tempDir(),
        databaseUrl,
        env: { REDIS_URL: process.env.REDIS_URL, REDIS_PREFIX: prefix, RATE_LIMIT_EVENTS: '0' },
      });
    });
    afterAll(async () => {
      await nodes.stop('SIGKILL');
      await dropNodes();
    });

    it('answers a flood of refused events without passing them through Redis', async () => {
      const alice = await registerUser(nodes.url);
      const a = await connect(nodes.url, alice.token);
      const redis = createClient({ url: process.env.REDIS_URL });
      await redis.connect();
      try {
        const stream = `${prefix}socket.io`;
        const before = await redis.xLen(stream);
        const errors = record(a, 'error');
        const emit = a.emit.bind(a) as (e: string, ...args: unknown[]) => void;
        for (let i = 0; i < FLOOD; i++) emit('never:known', {});
        await vi.waitFor(() => expect(errors).toHaveLength(FLOOD), { timeout: 10_000 });
        // Every process reads every entry of that stream: one a refusal would be a flood for all.
        expect((await redis.xLen(stream)) - before).toBeLessThan(FLOOD / 10);
      } finally {
        await redis.quit();
      }
    });

    it('gets no session back when it reconnects: what it left unread is not sent again', async () => {
      // Left unread: its chat's messages, which recovery would replay (they pass through the
      // stream).
      const alice = await registerUser(nodes.url);
      const bob = await registerUser(nodes.url);
      const chat = await createDirect(alice, bob);
      const tabs = await Promise.all(
        Array.from({ length: 4 }, () => connect(nodes.url, bob.token)),
      );
      const send = (i: number, content: string) =>
        sendMessage(tabs[i % tabs.length]!, {
          chatId: chat.id,
          content,
          clientMessageId: randomUUID(),
        });
      /** A socket of alice's that has heard one broadcast: recovery needs its offset. */
      const heardOnce = async () => {
        const socket = await connect(nodes.url, alice.token);
        const heard = new Promise((resolve) => socket.once('message:new', resolve));
        expect((await send(0, 'hi')).ok).toBe(true);
        await heard;
        return socket;
      };
      const reconnect = async (socket: ClientSocket) => {
        const connected = new Promise<void>((resolve) => socket.once('connect', resolve));
        socket.connect();
        await connected;
        return socket.recovered;
      };

      // A connection that merely dropped gets its session back: recovery works here.
      const dropped = await heardOnce();
      const lost = new Promise((resolve) => dropped.once('disconnect', resolve));
      rawSocketOf(dropped).destroy();
      await lost;
      expect(await reconnect(dropped)).toBe(true);
      dropped.disconnect();

      // One cut off for not reading what its chat sends does not.
      const a = await heardOnce();
      const raw = rawSocketOf(a);
      raw.pause();
      const content = 'ü '.repeat(1000) + '€ '.repeat(1000);
      const deadline = Date.now() + CUT_OFF_PATIENCE_MS;
      while (!cutOffLine(nodes, alice.user.id) && Date.now() < deadline) {
        const batch = Array.from({ length: 100 }, (_, i) => send(i, content));
        expect((await Promise.all(batch)).every((ack) => ack.ok)).toBe(true);
      }
      expect(cutOffLine(nodes, alice.user.id)).toBeDefined();
      const gone = new Promise((resolve) => a.once('disconnect', resolve));
      raw.resume();
      await gone;
      expect(await reconnect(a)).toBe(false);
    }, 45_000);
  },
);
