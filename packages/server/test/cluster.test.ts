import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Chat, Message } from '@parley/protocol';
import {
  createDirect,
  createGroup,
  emitAck,
  registerUser,
  settle,
  waitFor,
  type TestUser,
} from './helpers/client.js';
import {
  ackedMessage,
  attemptSend,
  ClusterClient,
  flushOutboxes,
  historyProblems,
  memberProblems,
  messagesAfter,
  onlineIn,
  startLoad,
  type Send,
} from './helpers/cluster-client.js';
import { startLatencyProxy, type LatencyProxy } from './helpers/cluster-latency.js';
import { startCluster, type Cluster } from './helpers/cluster.js';
import { createPgInstance, postgresInstalled, type PgInstance } from './helpers/pg-instance.js';
import { removeTempDirs, sleep } from './helpers/process.js';
import {
  createRedisInstance,
  redisInstalled,
  type RedisInstance,
} from './helpers/redis-instance.js';
import { freshDatabase } from './helpers/server.js';

/**
 * Issue 8's failure suite: three server processes on one PostgreSQL and one Redis act as one
 * server, and keep their promises while things are killed under them. Each process is a real
 * child (`node src/main.ts`); clients connect to the three ports directly over websockets, and
 * the test routes a client to a surviving process when its own dies, as a load balancer would.
 * Redis is the suite's own redis-server on a free port, so that it can be stopped and started.
 *
 * What is asserted is what a user would notice: a message missing, doubled or unacked; a contact
 * shown online who is gone (or the reverse); a typing indicator from nobody; a chat you were
 * removed from still talking to you. Durations are measured and printed, never asserted, except
 * the contract's own bound (offline within 30 s of a process dying).
 */

// With the embedded store REDIS_URL is refused at start: this suite runs in the PostgreSQL pass
// (vitest.config.ts). In CI a missing redis-server is a broken machine, not a reason to test less.
if (process.env.CI && !redisInstalled()) throw new Error('redis-server is missing');
const runShared = Boolean(process.env.DATABASE_URL) && redisInstalled();
const runPgRestart = runShared && postgresInstalled();

/**
 * Limits high enough never to refuse this suite's traffic, but on: the message and event limits
 * then count in Redis, on the send path, which must keep acking while Redis is away.
 */
const ENV = {
  RATE_LIMIT_MESSAGES: '1000000',
  RATE_LIMIT_EVENTS: '1000000',
  RATE_LIMIT_CHATS: '0',
  // The default, spelled out: the presence test waits past it.
  PRESENCE_GRACE_MS: '1000',
};

/** The contract: a dead process's users are offline for their contacts within 30 s. */
const OFFLINE_AFTER_DEATH_MS = 30_000;
/** Well past PRESENCE_GRACE_MS: an offline that was coming would have come. */
const GRACE_WAIT_MS = 3000;
/** "Within a few seconds": cross-process delivery, presence, typing. */
const FEW_SECONDS = 5000;

const round = (ms: number) => Math.round(ms);
const spread = (values: number[]) =>
  values.length
    ? `${round(Math.min(...values))}–${round(Math.max(...values))} ms`
    : 'none measured';

let clients: ClusterClient[] = [];
afterEach(() => {
  for (const c of clients) c.close();
  clients = [];
});
afterAll(removeTempDirs);

/** Everything one member must end with, for all of `members` in `chat` (problems, or []). */
async function everyMemberProblems(
  members: ClusterClient[],
  chatId: string,
  history: Message[],
  url: string,
): Promise<string[]> {
  const lists = await Promise.all(
    members.map((m) => memberProblems(m, chatId, history, m.api(url))),
  );
  return lists.flat();
}

/** Sends one message now (a marker, a probe) and records it as a send. */
async function sendOne(client: ClusterClient, chatId: string, tag: string): Promise<Send> {
  const send: Send = {
    client,
    chatId,
    clientMessageId: tag,
    content: `${tag} from ${client.name}`,
    attempts: [],
  };
  send.attempts.push(await attemptSend(client, send));
  return send;
}

/**
 * One marker from a member on each of `senders`' processes, awaited at every member: a process's
 * broadcasts reach another in order, so once a process's marker is heard, everything that
 * process broadcast before it has arrived. Returns the markers (they are messages of the chat).
 */
async function barrier(
  senders: ClusterClient[],
  members: ClusterClient[],
  chatId: string,
  tag: string,
): Promise<Send[]> {
  const markers = await Promise.all(senders.map((s, i) => sendOne(s, chatId, `${tag}-${i}`)));
  const ids = markers.map((m) => ackedMessage(m)?.id);
  expect(
    ids.every(Boolean),
    `markers acked: ${JSON.stringify(markers.map((m) => m.attempts))}`,
  ).toBe(true);
  const missing: string[] = [];
  await Promise.all(
    members.flatMap((member) =>
      ids.map(async (id) => {
        if (!(await member.waitForMessage((m) => m.id === id, FEW_SECONDS))) {
          missing.push(`${member.name} (process ${member.node}) never heard marker ${id}`);
        }
      }),
    ),
  );
  expect(missing).toEqual([]);
  return markers;
}

/** Every attempt of every send that was not acked, as `clientMessageId: outcome`. */
const unacked = (sends: Send[]) =>
  sends.flatMap((s) =>
    s.attempts
      .filter((a) => a.outcome.kind !== 'ok')
      .map((a) => `${s.clientMessageId}@${a.node}: ${JSON.stringify(a.outcome)}`),
  );

describe.runIf(runShared)('three processes on one PostgreSQL and one Redis', () => {
  let redis: RedisInstance | undefined;
  let drop = () => Promise.resolve();
  let slowDb: LatencyProxy | undefined;
  let cluster: Cluster;
  const url = (index: number) => cluster.node(index).url;

  beforeAll(async () => {
    redis = await createRedisInstance();
    const db = await freshDatabase();
    drop = db.drop;
    // Process 1 reaches PostgreSQL through a proxy whose latency the race test turns up.
    const target = new URL(db.databaseUrl!);
    slowDb = await startLatencyProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaSlow = new URL(target);
    viaSlow.hostname = '127.0.0.1';
    viaSlow.port = String(slowDb.port);
    cluster = await startCluster({
      size: 3,
      redisUrl: redis.url,
      databaseUrl: db.databaseUrl!,
      databaseUrlOf: (i) => (i === 1 ? viaSlow.toString() : undefined),
      env: ENV,
    });
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
    await slowDb?.close();
    await drop();
    await redis?.destroy();
  });

  /** Fresh users, registered on the processes in turn, each with a client (not connected). */
  async function newClients(n: number, prefix: string): Promise<ClusterClient[]> {
    const live = cluster.nodes.filter((n) => cluster.alive(n.index));
    const users = await Promise.all(
      Array.from({ length: n }, (_, i) => registerUser(live[i % live.length]!.url)),
    );
    const made = users.map((u, i) => new ClusterClient(u, `${prefix}${i}`));
    clients.push(...made);
    return made;
  }

  /** Connects each client to process `nodes[i]`. */
  const connectAll = (list: ClusterClient[], nodes: number[]) =>
    Promise.all(list.map((c, i) => c.connect(url(nodes[i]!), nodes[i]!)));

  /** A group made on `via`'s process, so that every process's cached view is tested too. */
  async function group(owner: ClusterClient, members: ClusterClient[], via: number) {
    const owning: TestUser = { ...owner.user, api: owner.api(url(via)) };
    return createGroup(
      owning,
      members.map((m) => m.user),
    );
  }

  describe('one server in three processes', () => {
    it('delivers a message sent on any process to the members on the others', async () => {
      const [a, b, c] = (await newClients(3, 'member')) as [
        ClusterClient,
        ClusterClient,
        ClusterClient,
      ];
      const before = await group(a, [b, c], 0);
      await connectAll([a, b, c], [0, 1, 2]);
      // A chat made after they connected: its room is joined on every process, not just one.
      const after = await group(b, [a, c], 2);
      for (const chat of [before, after]) {
        for (const [sender, others] of [
          [a, [b, c]],
          [b, [a, c]],
          [c, [a, b]],
        ] as const) {
          const sent = await sendOne(sender, chat.id, `${chat.id}-${sender.name}`);
          const message = ackedMessage(sent);
          expect(message, JSON.stringify(sent.attempts)).toBeDefined();
          for (const other of others) {
            const heard = await other.waitForMessage((m) => m.id === message!.id, FEW_SECONDS);
            expect(heard, `${other.name} on ${other.node} heard ${sender.name}`).toBeDefined();
            expect(heard!.event).toMatchObject({ content: sent.content, seq: message!.seq });
          }
        }
      }
    }, 30_000);

    it('shows a contact online from their first socket anywhere, offline after their last', async () => {
      const [watcher, dave] = (await newClients(2, 'presence')) as [ClusterClient, ClusterClient];
      await createDirect({ ...watcher.user, api: watcher.api(url(0)) }, dave.user);
      await watcher.connect(url(0), 0);

      const start = Date.now();
      const tab1 = await dave.connect(url(1), 1, { tab: true });
      expect(await watcher.waitForStatus(dave.id, 'online', start, FEW_SECONDS)).toBeDefined();
      const tab2 = await dave.connect(url(2), 2, { tab: true });

      // One tab of two closes: dave is still online on process 2, whatever process 1 thinks.
      const firstClosed = Date.now();
      tab1.disconnect();
      await sleep(GRACE_WAIT_MS);
      expect(watcher.statusesOf(dave.id, start).map((s) => s.event.status)).toEqual(['online']);

      const lastClosed = Date.now();
      tab2.disconnect();
      const offlineAt = await watcher.waitForStatus(dave.id, 'offline', lastClosed, 15_000);
      console.info(
        `presence: offline ${offlineAt ? round(offlineAt - lastClosed) : '-'} ms after the ` +
          `last socket closed (none in the ${round(lastClosed - firstClosed)} ms after the first)`,
      );
      expect(offlineAt).toBeDefined();
      expect(watcher.statusesOf(dave.id, start).map((s) => s.event.status)).toEqual([
        'online',
        'offline',
      ]);
    }, 30_000);

    it('carries typing across processes, and two tabs typing make one indicator', async () => {
      const [a, b, e] = (await newClients(3, 'typing')) as [
        ClusterClient,
        ClusterClient,
        ClusterClient,
      ];
      const chat = await group(a, [b, e], 1);
      await connectAll([a, b], [0, 1]);
      const bSocket = b.socket!;
      const aSocket = a.socket!;

      const started = waitFor(bSocket, 'typing:start', (t) => t.userId === a.id, FEW_SECONDS);
      expect(await emitAck(aSocket, 'typing:start', { chatId: chat.id })).toEqual({ ok: true });
      expect(await started).toMatchObject({ chatId: chat.id, username: a.user.user.username });
      const stopped = waitFor(bSocket, 'typing:stop', (t) => t.userId === a.id, FEW_SECONDS);
      expect(await emitAck(aSocket, 'typing:stop', { chatId: chat.id })).toEqual({ ok: true });
      expect(await stopped).toMatchObject({ chatId: chat.id });

      // e types in two tabs on two other processes: a hears of it once.
      const starts: string[] = [];
      aSocket.on('typing:start', (t) => {
        if (t.userId === e.id) starts.push(t.chatId);
      });
      const tab1 = await e.connect(url(1), 1, { tab: true });
      const tab2 = await e.connect(url(2), 2);
      expect(await emitAck(tab1, 'typing:start', { chatId: chat.id })).toEqual({ ok: true });
      expect(await emitAck(tab2, 'typing:start', { chatId: chat.id })).toEqual({ ok: true });
      // Markers from both tabs' processes: every typing:start they sent before has arrived.
      const marks = await Promise.all(
        [tab1, tab2].map((socket, i) =>
          emitAck<'message:send', { message: Message }>(socket, 'message:send', {
            chatId: chat.id,
            content: `marker ${i}`,
          }),
        ),
      );
      for (const mark of marks) {
        expect(mark.ok).toBe(true);
        if (mark.ok) {
          expect(
            await a.waitForMessage((m) => m.id === mark.message.id, FEW_SECONDS),
          ).toBeDefined();
        }
      }
      expect(starts).toEqual([chat.id]);
    }, 30_000);
  });

  describe('a removal on one process during a handshake on another', () => {
    const ITERATIONS = 30;
    /** Each query of process 1 waits this long each way: its handshake spans several. */
    const DB_DELAY_MS = 25;

    afterEach(() => slowDb?.setDelay(0));

    it('never leaves the removed user in the room', async () => {
      const everyone = await newClients(ITERATIONS + 2, 'race');
      const owner = everyone[0]!;
      const bobs = everyone.slice(1);
      const warmup = bobs.pop()!;
      const control = await group(owner, [...bobs, warmup], 0);
      const chats: Chat[] = [];
      for (const bob of bobs) chats.push(await group(owner, [bob], 0));
      await owner.connect(url(2), 2);

      slowDb!.setDelay(DB_DELAY_MS);
      const t = Date.now();
      await warmup.connect(url(1), 1);
      const handshakeMs = Date.now() - t;

      // Removal on process 0 started at offsets spread over the whole handshake on process 1.
      let midHandshake = 0;
      for (const [i, bob] of bobs.entries()) {
        const chat = chats[i]!;
        const offset = (i / ITERATIONS) * handshakeMs * 1.2;
        const connectStarted = Date.now();
        const connecting = bob.connect(url(1), 1).then(() => Date.now());
        await sleep(offset);
        const removeStarted = Date.now();
        const res = await owner.api(url(0)).delete(`/chats/${chat.id}/participants/${bob.id}`);
        const removed = Date.now();
        expect(res.status).toBe(204);
        const connected = await connecting;
        if (removeStarted >= connectStarted && removed <= connected) midHandshake++;
      }
      slowDb!.setDelay(0);
      console.info(
        `handshake race: handshake on process 1 took ${handshakeMs} ms with ${DB_DELAY_MS} ms ` +
          `each way to PostgreSQL; ${midHandshake} of ${ITERATIONS} removals committed ` +
          'while the handshake was under way',
      );

      // A message to each chat, then one to the control chat: once a bob hears the control
      // message (sent after, from the same process), he would have heard his chat's already.
      const sent: Message[] = [];
      for (const chat of chats) {
        const send = await sendOne(owner, chat.id, `after-removal-${chat.id}`);
        expect(ackedMessage(send)).toBeDefined();
        sent.push(ackedMessage(send)!);
      }
      const controlSend = await sendOne(owner, control.id, 'control');
      const controlId = ackedMessage(controlSend)?.id;
      expect(controlId).toBeDefined();
      const problems: string[] = [];
      await Promise.all(
        bobs.map(async (bob, i) => {
          if (!(await bob.waitForMessage((m) => m.id === controlId, FEW_SECONDS))) {
            problems.push(`${bob.name} never heard the control message`);
          }
          // The line of his own removal ("Owner removed Bob") may reach a socket that joined
          // mid-handshake: it is the removal's own news, stored with it. Nothing after it may.
          const leaked = bob.messages.filter(
            (h) => h.event.chat_id === chats[i]!.id && h.event.message_type !== 'system',
          );
          if (leaked.length) problems.push(`${bob.name} heard "${leaked[0]!.event.content}"`);
        }),
      );
      expect(problems).toEqual([]);
      expect(sent).toHaveLength(ITERATIONS);
    }, 60_000);
  });

  describe('a process killed (kill -9) while 50 clients send', () => {
    const CLIENTS = 50;
    const GROUP_SIZE = 10;
    const KILL_AFTER_ACKS = 200;
    const KILLED = 2;

    it('loses nothing, doubles nothing, and tells contacts its users went offline', async () => {
      const all = await newClients(CLIENTS, 'load');
      const groups: { chat: Chat; members: ClusterClient[] }[] = [];
      for (let g = 0; g < CLIENTS / GROUP_SIZE; g++) {
        const members = all.slice(g * GROUP_SIZE, (g + 1) * GROUP_SIZE);
        groups.push({ chat: await group(members[0]!, members.slice(1), g % 3), members });
      }
      const home = (i: number) => i % 3;
      await connectAll(
        all,
        all.map((_, i) => home(i)),
      );
      const chatOf = new Map(groups.flatMap((g) => g.members.map((m) => [m, g] as const)));
      // In each group one user of the doomed process does not come back until told: their
      // contacts on the other processes must see them go offline.
      const quitters = new Set(groups.map((g) => g.members.find((m) => m.node === KILLED)!));
      const survivors = all.filter((c) => c.node !== KILLED);

      let killedAt = 0;
      let killing: Promise<unknown> | undefined;
      const load = startLoad(
        all.map((client) => ({
          client,
          chatId: chatOf.get(client)!.chat.id,
          prefix: client.name,
        })),
        {
          pauseMs: 100,
          onAttempt: () => {
            if (!killing && load.acks() >= KILL_AFTER_ACKS) {
              killedAt = Date.now();
              killing = cluster.kill(KILLED);
            }
          },
          // The test is the load balancer: a client whose process died goes to a surviving one
          // and resends what it was sending, with the same clientMessageId.
          onClosed: async (client) => {
            if (quitters.has(client)) return false;
            const to = all.indexOf(client) % 2;
            for (let tries = 0; ; tries++) {
              try {
                await client.connect(url(to), to);
                return true;
              } catch (err) {
                if (tries >= 5) throw err;
                await sleep(200);
              }
            }
          },
        },
      );
      const deadline = Date.now() + 30_000;
      while (!killing && Date.now() < deadline) await sleep(50);
      expect(killing, 'the load reached the kill').toBeDefined();
      await killing;
      const acksAtKill = load.acks();
      while (load.acks() < acksAtKill + 200 && Date.now() < killedAt + 8000) await sleep(50);
      await load.stop();
      const { sends } = load;

      // The killed process's users that did not come back: offline for every contact within 30 s.
      const offlineAfter: number[] = [];
      const late: string[] = [];
      await Promise.all(
        [...quitters].flatMap((quitter) =>
          chatOf
            .get(quitter)!
            .members.filter((m) => survivors.includes(m))
            .map(async (watcher) => {
              const at = await watcher.waitForStatus(
                quitter.id,
                'offline',
                killedAt,
                killedAt + OFFLINE_AFTER_DEATH_MS - Date.now(),
              );
              if (at === undefined) late.push(`${watcher.name} never saw ${quitter.name} offline`);
              else offlineAfter.push(at - killedAt);
            }),
        ),
      );
      // Those who moved to another process at once are online all along: a flap is measured.
      const moved = all.filter((c) => !quitters.has(c) && home(all.indexOf(c)) === KILLED);
      const flaps = survivors.flatMap((w) =>
        moved.flatMap((m) =>
          w.statusesOf(m.id, killedAt).filter((s) => s.event.status === 'offline'),
        ),
      );

      // They come back, on a surviving process: online again for their contacts; their outbox
      // (what they were sending when the process died) is resent.
      const back = Date.now();
      await Promise.all([...quitters].map((q, i) => q.connect(url(i % 2), i % 2)));
      const onlineAfter: number[] = [];
      await Promise.all(
        [...quitters].flatMap((quitter) =>
          chatOf
            .get(quitter)!
            .members.filter((m) => survivors.includes(m))
            .map(async (watcher) => {
              const at = await watcher.waitForStatus(quitter.id, 'online', back, FEW_SECONDS * 2);
              if (at === undefined) late.push(`${watcher.name} never saw ${quitter.name} back`);
              else onlineAfter.push(at - back);
            }),
        ),
      );
      const resent = await flushOutboxes(sends);

      const closedInFlight = sends.filter((s) =>
        s.attempts.some((a) => a.outcome.kind === 'closed' && a.outcome.emitted),
      );
      console.info(
        `kill -9: ${sends.length} sends by ${CLIENTS} clients, ${acksAtKill} acked before the ` +
          `kill, ${closedInFlight.length} in flight on the killed process; its users offline ` +
          `for their contacts after ${spread(offlineAfter)}; back online after ` +
          `${spread(onlineAfter)}; ${flaps.length} offline flaps of users who moved at once`,
      );
      expect(late).toEqual([]);
      expect(resent).toEqual([]);
      // Nothing refused or left unanswered: a socket that closed is the only failure.
      expect(unacked(sends).filter((s) => !s.includes('"closed"'))).toEqual([]);

      // Every member ends with the chat's whole history, nothing twice; members who never
      // left a surviving process heard live every message a surviving process acked.
      const problems: string[] = [];
      for (const { chat, members } of groups) {
        const present = members.filter((m) => m.socket?.connected);
        const senders = [0, 1].map((n) => present.find((m) => m.node === n)!);
        const markers = await barrier(senders, present, chat.id, `barrier-${chat.id}`);
        const chatSends = [...sends.filter((s) => s.chatId === chat.id), ...markers];
        const history = await messagesAfter(members[0]!.api(url(0)), chat.id, undefined);
        problems.push(...historyProblems(history, chatSends));
        const storedKeys = history.map((m) => `${m.sender_id}/${m.client_message_id}`).sort();
        const sentKeys = chatSends.map((s) => `${s.client.id}/${s.clientMessageId}`).sort();
        expect(storedKeys).toEqual(sentKeys);
        problems.push(...(await everyMemberProblems(members, chat.id, history, url(0))));
        for (const member of members.filter((m) => survivors.includes(m))) {
          const heard = new Set(member.messages.map((h) => h.event.id));
          for (const send of chatSends) {
            // A resend of what may already be stored answers with the first message and is not
            // broadcast again: only a first emission is owed live.
            const emitted = send.attempts.filter(
              (a) => a.outcome.kind !== 'closed' || a.outcome.emitted,
            );
            const ok = emitted[0];
            if (
              ok?.outcome.kind === 'ok' &&
              ok.node !== KILLED &&
              !heard.has(ok.outcome.message.id)
            ) {
              problems.push(`${member.name} never heard ${send.clientMessageId} live`);
            }
          }
        }
      }
      expect(problems).toEqual([]);
    }, 120_000);
  });

  describe('Redis restarted under load', () => {
    it('keeps acking, loses nothing, and resumes delivery and presence when Redis is back', async () => {
      if (!cluster.alive(2)) await cluster.replace(2);
      const [late, ...members] = await newClients(7, 'redis');
      const chat = await group(members[0]!, [...members.slice(1), late!], 0);
      await connectAll(
        members,
        members.map((_, i) => i % 3),
      );

      /** /api/health of each process, asked every 100 ms. */
      const checks: {
        node: number;
        askedAt: number;
        at: number;
        status: number;
        redis?: string;
      }[] = [];
      let polling = true;
      const pollers = [0, 1, 2].map(async (node) => {
        while (polling) {
          const askedAt = Date.now();
          try {
            const res = await fetch(`${url(node)}/api/health`, {
              signal: AbortSignal.timeout(5000),
            });
            const body = (await res.json()) as { redis?: string };
            checks.push({ node, askedAt, at: Date.now(), status: res.status, redis: body.redis });
          } catch {
            checks.push({ node, askedAt, at: Date.now(), status: 0 });
          }
          await sleep(100);
        }
      });

      const load = startLoad(
        members.map((client) => ({ client, chatId: chat.id, prefix: client.name })),
        { pauseMs: 50 },
      );
      let downAt = 0;
      let restartAt = 0;
      let backAt = 0;
      /** Messages sent on process 0 every 200 ms from Redis's return until process 1 hears one. */
      const probes: Send[] = [];
      let probeHeardAt: number | undefined;
      const upAt: (number | undefined)[] = [];
      try {
        await sleep(1000);
        await redis!.stop();
        downAt = Date.now();
        await sleep(2000);
        restartAt = Date.now();
        await redis!.start();
        backAt = Date.now();
        // A broadcast made before a process has its Redis connection back is lost to the
        // others (its members catch up by seq): delivery has resumed once one gets through.
        while (probeHeardAt === undefined && Date.now() < backAt + 15_000) {
          const probe = await sendOne(members[0]!, chat.id, `probe-${probes.length}`);
          probes.push(probe);
          const probeId = ackedMessage(probe)?.id;
          probeHeardAt = (await members[1]!.waitForMessage((m) => m.id === probeId, 200))?.at;
        }
        for (const node of [0, 1, 2]) {
          const deadline = Date.now() + 15_000;
          while (!checks.some((p) => p.node === node && p.askedAt > backAt && p.redis === 'up')) {
            if (Date.now() > deadline) break;
            await sleep(50);
          }
          upAt[node] = checks.find(
            (p) => p.node === node && p.askedAt > backAt && p.redis === 'up',
          )?.at;
        }
        await sleep(1000);
      } finally {
        await load.stop();
        polling = false;
        await Promise.all(pollers);
      }
      const { sends } = load;
      const crossFirst = members
        .flatMap((m) =>
          m.messages.filter((h) => {
            const sender = members.find((s) => s.id === h.event.sender_id);
            return h.at >= backAt && sender && sender.node !== h.node;
          }),
        )
        .map((h) => h.at)
        .sort((x, y) => x - y)[0];

      // A user who connects now is seen online across processes; everyone connected through
      // the restart is online again for someone who looks.
      const lateAt = Date.now();
      await late!.connect(url(0), 0);
      const lateSeen = await members[1]!.waitForStatus(late!.id, 'online', lateAt, FEW_SECONDS);
      let converged: number | undefined;
      const ids = members.map((m) => m.id);
      while (Date.now() < lateAt + 20_000) {
        if ((await onlineIn(late!.api(url(2)), chat.id, ids)).length === ids.length) {
          converged = Date.now() - lateAt;
          break;
        }
        await sleep(250);
      }

      const duringOutage = sends.flatMap((s) =>
        s.attempts.filter((a) => a.askedAt > downAt && a.answeredAt < restartAt),
      );
      console.info(
        `Redis restart: ${sends.length} sends, ${duringOutage.length} asked and answered while ` +
          `Redis was down (slowest ${round(Math.max(0, ...duringOutage.map((a) => a.answeredAt - a.askedAt)))} ms); ` +
          `from Redis back: probes from process 0 reached process 1 after ` +
          `${probeHeardAt ? round(probeHeardAt - backAt) : '-'} ms (${probes.length} sent), the ` +
          `first cross-process message:new after ${crossFirst ? round(crossFirst - backAt) : '-'} ` +
          `ms, health "up" after ` +
          `${upAt.map((t) => (t ? `${round(t - backAt)} ms` : '-')).join(' / ')}; presence ` +
          `of those connected through it converged ${converged ?? '-'} ms after a look`,
      );

      // Acks never depend on Redis: every send was acked, during the outage too.
      expect(unacked([...sends, ...probes])).toEqual([]);
      expect(duringOutage.length).toBeGreaterThan(0);
      for (const node of [0, 1, 2]) {
        const down = checks.filter(
          (p) => p.node === node && p.askedAt > downAt + 1000 && p.at < restartAt,
        );
        expect(down.length, `health polls of process ${node} while Redis was down`).toBeGreaterThan(
          0,
        );
        expect(down.map((p) => `${p.status} ${p.redis}`)).toEqual(down.map(() => '200 down'));
        expect(upAt[node], `process ${node} says "redis": "up" again`).toBeDefined();
      }
      expect(checks.filter((p) => p.status !== 200)).toEqual([]);
      expect(probeHeardAt, 'delivery across processes resumed').toBeDefined();
      expect(probeHeardAt! - backAt).toBeLessThan(10_000);
      expect(lateSeen, 'a user connecting after the restart is seen online').toBeDefined();
      expect(converged, 'everyone connected through the restart is online again').toBeDefined();

      const markers = await barrier(members.slice(0, 3), members, chat.id, 'redis-barrier');
      const allSends = [...sends, ...probes, ...markers];
      const history = await messagesAfter(members[0]!.api(url(0)), chat.id, undefined);
      expect(historyProblems(history, allSends)).toEqual([]);
      expect(history).toHaveLength(allSends.length);
      expect(await everyMemberProblems(members, chat.id, history, url(0))).toEqual([]);
      for (const node of [0, 1, 2]) expect(cluster.alive(node)).toBe(true);
    }, 90_000);
  });

  describe('sign-outs and room moves made while Redis is down', () => {
    /** Polls each process's /api/health until it says `redis: want` (false after 15 s). */
    async function redisSays(want: 'up' | 'down'): Promise<boolean> {
      const deadline = Date.now() + 15_000;
      for (const node of [0, 1, 2]) {
        for (;;) {
          const res = await fetch(`${url(node)}/api/health`, { signal: AbortSignal.timeout(5000) });
          if (((await res.json()) as { redis?: string }).redis === want) break;
          if (Date.now() > deadline) return false;
          await sleep(50);
        }
      }
      return true;
    }

    it('reach the other processes once Redis is back', async () => {
      for (const node of [0, 1, 2]) if (!cluster.alive(node)) await cluster.replace(node);
      // The owner is on process 2 (C), everyone else on process 1 (B); the changes go through
      // process 0 (A), where no socket of theirs is. x connects before z: B rechecks its sockets
      // in the order they connected (a few at a time, each with the same queries), so once z is
      // in the room, x is out of it, give or take a query.
      const [owner, x, y, w, z] = (await newClients(5, 'outage')) as [
        ClusterClient,
        ClusterClient,
        ClusterClient,
        ClusterClient,
        ClusterClient,
      ];
      const chat = await group(owner, [x, w], 0);
      await connectAll([owner, x, y, w, z], [2, 1, 1, 1, 1]);
      const ySocket = y.socket!;
      let yGone: { at: number; reason: string } | undefined;
      ySocket.once('disconnect', (reason) => (yGone = { at: Date.now(), reason }));
      const xRemoved: number[] = [];
      x.socket!.on('chat:removed', (e) => {
        if (e.chatId === chat.id) xRemoved.push(Date.now());
      });
      const zAdded: number[] = [];
      z.socket!.on('chat:new', (c) => {
        if (c.id === chat.id) zAdded.push(Date.now());
      });
      // Before: x on B hears the group from C (the room was joined across processes).
      await barrier([owner], [x, w], chat.id, 'outage-before');

      let restartAt = 0;
      let yConnectedAtRestart = false;
      let xInRoomDuringOutage = false;
      try {
        await redis!.stop();
        // Every process has noticed: A's publishes fail, and B has an outage to come back from.
        expect(await redisSays('down'), 'every process says "redis": "down"').toBe(true);
        const api = (c: ClusterClient) => c.api(url(0));
        expect((await api(owner).delete(`/chats/${chat.id}/participants/${x.id}`)).status).toBe(
          204,
        );
        expect((await api(y).post('/auth/logout-all')).status).toBe(204);
        expect(
          (await api(owner).post(`/chats/${chat.id}/participants`, { userId: z.id })).status,
        ).toBe(201);
        // Not asserted (it is the outage's loss, which the recheck makes good), only reported:
        // whether the sign-out and the removal reached B all the same. A message w sends on B
        // reaches whoever is in the room there.
        const local = ackedMessage(await sendOne(w, chat.id, 'outage-local'));
        xInRoomDuringOutage = Boolean(
          local && (await x.waitForMessage((m) => m.id === local.id, 1000)),
        );
        yConnectedAtRestart = ySocket.connected;
      } finally {
        restartAt = Date.now();
        await redis!.start();
      }

      // The sign-out: y's socket on B is disconnected, and its token opens no other.
      while (!yGone && Date.now() < restartAt + 10_000) await sleep(25);
      const refused = await y.connect(url(1), 1).then(
        () => 'connected',
        (err: Error & { data?: { code?: string } }) => err.data?.code ?? err.message,
      );

      // The moves: messages from C until both w and z (on B) hear one (B's rooms were set
      // again); then one more, which w and z (added) hear and x (removed) does not.
      const probes: Send[] = [];
      let heardAt: number | undefined;
      const probeUntil = Date.now() + 10_000;
      while (heardAt === undefined && Date.now() < probeUntil) {
        const probe = await sendOne(owner, chat.id, `outage-probe-${probes.length}`);
        probes.push(probe);
        const id = ackedMessage(probe)?.id;
        const [byW, byZ] = await Promise.all(
          [w, z].map((m) => m.waitForMessage((h) => h.id === id, 200)),
        );
        if (byW && byZ) heardAt = Math.max(byW.at, byZ.at);
      }
      const after = ackedMessage(await sendOne(owner, chat.id, 'outage-after'));
      expect(after, 'a message sent after the restart is acked').toBeDefined();
      const [wHeard, zHeard] = await Promise.all(
        [w, z].map((m) => m.waitForMessage((h) => h.id === after!.id, FEW_SECONDS)),
      );
      // x is on the process w heard it on: a round trip on x's socket after that makes sure that
      // whatever B sent x before has arrived.
      await settle(x.socket!);
      const probeIds = new Set(probes.map((p) => ackedMessage(p)?.id));
      const xHeard = x.messages.filter((h) => h.event.chat_id === chat.id && h.at > restartAt);
      console.info(
        `changes during a Redis outage: on B, removed x ${xInRoomDuringOutage ? 'still' : 'no longer'} ` +
          `heard the chat and signed-out y was ${yConnectedAtRestart ? 'still' : 'no longer'} ` +
          `connected before Redis restarted; y disconnected ` +
          `${yGone ? `${round(yGone.at - restartAt)} ms after the restart (${yGone.reason})` : 'never'}; ` +
          `w and added z heard C after ` +
          `${heardAt ? `${round(heardAt - restartAt)} ms` : '-'} (${probes.length} probes, ` +
          `${xHeard.filter((h) => probeIds.has(h.event.id)).length} heard by removed x); ` +
          `chat:removed to x: ${xRemoved.length}, chat:new to z: ${zAdded.length}`,
      );

      // Everything a user would notice, at once, so that a failure names them all.
      const problems: string[] = [];
      if (!yGone) problems.push('y, signed out everywhere, kept its socket on B');
      if (refused !== 'unauthorized') problems.push(`y's old token on B: ${refused}`);
      if (!wHeard) problems.push('w never heard the message C sent after the restart');
      if (!zHeard) problems.push('z, added during the outage, never heard the chat');
      if (xHeard.some((h) => h.event.id === after!.id)) {
        problems.push('x, removed during the outage, still heard the chat');
      }
      expect(problems).toEqual([]);
    }, 60_000);
  });
});

describe.runIf(runPgRestart)('PostgreSQL restarted under three processes', () => {
  let pg: PgInstance | undefined;
  let redis: RedisInstance | undefined;
  let cluster: Cluster;
  const url = (index: number) => cluster.node(index).url;

  beforeAll(async () => {
    [pg, redis] = await Promise.all([createPgInstance(), createRedisInstance()]);
    cluster = await startCluster({ size: 3, redisUrl: redis.url, databaseUrl: pg.url, env: ENV });
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
    await pg?.destroy();
    await redis?.destroy();
  });

  it('answers unavailable while it is down, and every process recovers without a restart', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, (_, i) => registerUser(url(i % 3))));
    const members = users.map((u, i) => new ClusterClient(u, `pg${i}`));
    clients.push(...members);
    const chat = await createGroup({ ...users[0]!, api: members[0]!.api(url(0)) }, users.slice(1));
    await Promise.all(members.map((m, i) => m.connect(url(i % 3), i % 3)));

    const load = startLoad(
      members.map((client) => ({ client, chatId: chat.id, prefix: client.name })),
      { pauseMs: 20 },
    );
    let stoppedAt = 0;
    let startingAt = 0;
    let startedAt = 0;
    try {
      await sleep(800);
      await pg!.stop();
      stoppedAt = Date.now();
      await sleep(2000);
      startingAt = Date.now();
      await pg!.start();
      startedAt = Date.now();
      await sleep(2500);
    } finally {
      await load.stop();
    }
    const { sends } = load;
    const attempts = sends.flatMap((s) => s.attempts.map((a) => ({ send: s, a })));
    // Asked after PostgreSQL was down and answered before it was started: no write could land.
    const whileDown = attempts.filter(
      ({ a }) => a.askedAt > stoppedAt && a.answeredAt < startingAt,
    );
    const refused = attempts.filter(
      ({ a }) => a.outcome.kind === 'error' && a.outcome.code === 'unavailable',
    );
    const firstOkAfter = [0, 1, 2].map(
      (node) =>
        attempts.find(
          ({ a }) => a.node === node && a.outcome.kind === 'ok' && a.askedAt > startingAt,
        )?.a.answeredAt,
    );

    // Stored now, before any resend: those refused while down must not be.
    const reader = members[0]!.api(url(1));
    const before = await messagesAfter(reader, chat.id, undefined);
    const storedKeys = new Set(before.map((m) => `${m.sender_id}/${m.client_message_id}`));
    const key = (s: Send) => `${s.client.id}/${s.clientMessageId}`;
    const refusedYetStored = refused.filter(({ send }) => storedKeys.has(key(send)));
    console.info(
      `PostgreSQL restart under 3 processes: ${sends.length} sends, ${refused.length} ` +
        `unavailable (${whileDown.length} asked and answered while it was down, slowest ` +
        `${round(Math.max(0, ...whileDown.map(({ a }) => a.answeredAt - a.askedAt)))} ms); ` +
        `${refusedYetStored.length} refused in flight yet stored; pg_ctl start took ` +
        `${round(startedAt - startingAt)} ms; first ack per process from its start: ` +
        `${firstOkAfter.map((t) => (t ? `${round(t - startingAt)} ms` : '-')).join(' / ')}`,
    );

    expect(whileDown.length).toBeGreaterThan(0);
    expect(
      whileDown
        .filter(({ a }) => a.outcome.kind !== 'error' || a.outcome.code !== 'unavailable')
        .map(({ send, a }) => `${send.clientMessageId}: ${JSON.stringify(a.outcome)}`),
    ).toEqual([]);
    // Every answer was a message or `unavailable`; nothing hung, no socket closed.
    expect(
      attempts
        .filter(({ a }) => a.outcome.kind !== 'ok')
        .filter(({ a }) => a.outcome.kind !== 'error' || a.outcome.code !== 'unavailable')
        .map(({ send, a }) => `${send.clientMessageId}: ${JSON.stringify(a.outcome)}`),
    ).toEqual([]);
    expect(
      whileDown
        .filter(({ send }) => storedKeys.has(key(send)))
        .map(({ send }) => send.clientMessageId),
    ).toEqual([]);
    for (const node of [0, 1, 2]) {
      expect(cluster.alive(node), `process ${node} is still running`).toBe(true);
      expect(firstOkAfter[node], `process ${node} acked again`).toBeDefined();
    }

    // Each process, not restarted, sends and delivers across processes again; refused sends
    // resent (same clientMessageId) land exactly once.
    expect(await flushOutboxes(sends)).toEqual([]);
    const markers = await barrier(members.slice(0, 3), members, chat.id, 'pg-barrier');
    const allSends = [...sends, ...markers];
    const history = await messagesAfter(reader, chat.id, undefined);
    expect(historyProblems(history, allSends)).toEqual([]);
    expect(history).toHaveLength(allSends.length);
    expect(await everyMemberProblems(members, chat.id, history, url(2))).toEqual([]);
  }, 90_000);
});
