// A send's round trip: sequential message:send acks over one socket, against a real server.
// Usage: npm run bench [-- --count 2000]   (DATABASE_URL selects PostgreSQL, else PGlite in memory)
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  closeSockets,
  connect,
  createDirect,
  registerUser,
  sendMessage,
} from '../packages/server/test/helpers/client.js';
import { startServer } from '../packages/server/test/helpers/server.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '2000' } } });
const count = Number(values.count);

const server = await startServer();
try {
  const alice = await registerUser(server.url);
  const bob = await registerUser(server.url);
  const chat = await createDirect(alice, bob);
  const socket = await connect(server.url, alice.token);
  await connect(server.url, bob.token); // a recipient in the room, as in real use

  for (let i = 0; i < 200; i++)
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
  const pct = (p: number) =>
    times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!.toFixed(2);
  console.log(
    JSON.stringify({
      database: server.app.database.kind,
      sends: count,
      p50_ms: Number(pct(50)),
      p95_ms: Number(pct(95)),
      p99_ms: Number(pct(99)),
      sequential_per_s: Math.round(count / (elapsed / 1000)),
    }),
  );
} finally {
  closeSockets();
  await server.close();
}
