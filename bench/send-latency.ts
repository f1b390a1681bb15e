// A send's round trip: sequential message:send acks over one websocket, against the real server
// in its own process (as in production), with a second participant connected to receive.
// Usage: npm run bench [-- --count 2000]
// The embedded store persists in a temp DATA_DIR; with DATABASE_URL set, a fresh PostgreSQL
// database is created on that server and dropped afterwards.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  connect,
  createDirect,
  registerUser,
  sendMessage,
} from '../packages/server/test/helpers/client.js';
import { percentile, withServer } from './harness.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '2000' } } });
const count = Number(values.count);

await withServer(async (url, database) => {
  const alice = await registerUser(url);
  const bob = await registerUser(url);
  const chat = await createDirect(alice, bob);
  const socket = await connect(url, alice.token);
  await connect(url, bob.token);

  for (let i = 0; i < 300; i++)
    await sendMessage(socket, { chatId: chat.id, content: `warm ${i}` });
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const ack = await sendMessage(socket, {
      chatId: chat.id,
      content: `message ${i}`,
      clientMessageId: `b${i}`,
    });
    times.push(performance.now() - t0);
    if (!ack.ok) throw new Error(ack.error.message);
  }
  const elapsed = performance.now() - started;
  times.sort((a, b) => a - b);
  const pct = (p: number) => percentile(times, p);
  console.log(
    JSON.stringify({
      database,
      sends: count,
      p50_ms: pct(50),
      p95_ms: pct(95),
      p99_ms: pct(99),
      sequential_per_s: Math.round(count / (elapsed / 1000)),
    }),
  );
});
