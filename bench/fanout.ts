// Many senders at once in one group: every member sends `--messages` messages as fast as acks
// come back, and every member must receive every message. Reports ack latency and delivery.
// Usage: npm run bench:fanout [-- --users 40 --messages 25]   (DATABASE_URL: PostgreSQL)
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  connect,
  createGroup,
  registerUser,
  sendMessage,
} from '../packages/server/test/helpers/client.js';
import { percentile, withServer } from './harness.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '40' },
    messages: { type: 'string', default: '25' },
  },
});
const userCount = Number(values.users);
const perUser = Number(values.messages);

await withServer(async (url, database) => {
  const users = [];
  for (let i = 0; i < userCount; i++) users.push(await registerUser(url));
  const [owner, ...rest] = users;
  const group = await createGroup(owner!, rest, 'Fan-out');
  const sockets = await Promise.all(users.map((u) => connect(url, u.token)));
  const expected = userCount * perUser;
  const received = sockets.map(() => 0);
  const allDelivered = Promise.all(
    sockets.map(
      (s, i) =>
        new Promise<void>((resolve) => {
          s.on('message:new', () => {
            received[i]!++;
            if (received[i] === expected) resolve();
          });
        }),
    ),
  );

  const acks: number[] = [];
  const started = performance.now();
  await Promise.all(
    sockets.map(async (s, u) => {
      for (let m = 0; m < perUser; m++) {
        const t0 = performance.now();
        const ack = await sendMessage(s, {
          chatId: group.id,
          content: `user ${u} message ${m}`,
          clientMessageId: `${u}-${m}`,
        });
        acks.push(performance.now() - t0);
        if (!ack.ok) throw new Error(ack.error.message);
      }
    }),
  );
  const allAcked = performance.now() - started;
  await Promise.race([allDelivered, new Promise((r) => setTimeout(r, 30_000))]);
  const delivered = performance.now() - started;
  acks.sort((a, b) => a - b);
  const pct = (p: number) => percentile(acks, p, 1);
  console.log(
    JSON.stringify({
      database,
      users: userCount,
      messages: expected,
      deliveries: received.reduce((a, b) => a + b, 0),
      deliveries_expected: expected * userCount,
      ack_p50_ms: pct(50),
      ack_p95_ms: pct(95),
      ack_p99_ms: pct(99),
      sends_per_s: Math.round(expected / (allAcked / 1000)),
      deliveries_per_s: Math.round((expected * userCount) / (delivered / 1000)),
    }),
  );
});
