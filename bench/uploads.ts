// Upload throughput and the server's memory: a 25 MB file over the socket (32 KiB chunks, a
// window of chunks in flight) and over POST /api/uploads, against the real server in its own
// process; its resident memory (VmRSS) is sampled every 20 ms throughout. Then a large JPEG,
// whose thumbnail is the costliest thing an upload does.
// Usage: npm run bench:uploads [-- --mb 25 --window 8]
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { Ack, Attachment } from '@parley/protocol';
import {
  closeSockets,
  connect,
  createDirect,
  emitAck,
  registerUser,
  type ClientSocket,
} from '../packages/server/test/helpers/client.js';
import {
  killChildren,
  removeTempDirs,
  startChild,
  tempDir,
} from '../packages/server/test/helpers/process.js';
import { freshDatabase } from '../packages/server/test/helpers/server.js';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '25' },
    window: { type: 'string', default: '8' },
  },
});
const size = Math.round(Number(values.mb) * 1_000_000);
const inFlight = Number(values.window);
const CHUNK = 32 * 1024;

const rssOf = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(line?.[1] ?? 0) * 1024;
};
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** Samples the process's RSS until stopped; returns the peak. */
function watch(pid: number) {
  let peak = rssOf(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssOf(pid));
  };
}

function ok<T extends object>(ack: Ack<T>): T {
  if (!ack.ok) throw new Error(JSON.stringify(ack.error));
  return ack;
}

async function overSocket(s: ClientSocket, chatId: string, bytes: Buffer, window: number) {
  const { uploadId } = ok(
    await emitAck<'upload:start', { uploadId: string }>(s, 'upload:start', {
      chatId,
      name: 'bench.bin',
      size: bytes.length,
      mime: 'application/octet-stream',
    }),
  );
  const pending: Promise<Ack<{ received: number }>>[] = [];
  for (let offset = 0; offset < bytes.length || pending.length > 0;) {
    while (offset < bytes.length && pending.length < window) {
      const data = bytes.subarray(offset, offset + CHUNK);
      pending.push(emitAck(s, 'upload:chunk', { uploadId, offset, data }));
      offset += data.length;
    }
    ok((await pending.shift())!);
  }
  return ok(
    await emitAck<'upload:finish', { attachment: Attachment }>(s, 'upload:finish', { uploadId }),
  ).attachment;
}

async function overHttp(url: string, token: string, chatId: string, bytes: Buffer, name: string) {
  const form = new FormData();
  form.append('chatId', chatId);
  form.append('file', new Blob([bytes]), name);
  const res = await fetch(`${url}/api/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  if (res.status !== 201) throw new Error(`${res.status} ${await res.text()}`);
  return ((await res.json()) as { attachment: Attachment }).attachment;
}

const { databaseUrl, drop } = await freshDatabase();
const server = await startChild({
  dataDir: tempDir('parley-bench-'),
  databaseUrl,
  // A benchmark sends faster than one user may: the limits would measure themselves.
  env: { RATE_LIMIT_EVENTS: '0', RATE_LIMIT_MESSAGES: '0' },
});
try {
  const alice = await registerUser(server.url);
  const bob = await registerUser(server.url);
  const chat = await createDirect(alice, bob);
  const socket = await connect(server.url, alice.token);
  const bytes = randomBytes(size);
  // Warm both paths (JIT, first directories, sharp loaded), then measure.
  await overSocket(socket, chat.id, bytes.subarray(0, 2_000_000), inFlight);
  await overHttp(server.url, alice.token, chat.id, bytes.subarray(0, 2_000_000), 'warm.bin');
  const baseline = rssOf(server.pid);
  console.log(
    `server: ${databaseUrl ? 'postgres' : 'pglite (on disk)'}; ${mib(size)} MiB of random bytes; RSS at rest ${mib(baseline)} MiB`,
  );

  for (const window of [1, inFlight]) {
    const stop = watch(server.pid);
    const t0 = performance.now();
    await overSocket(socket, chat.id, bytes, window);
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `socket, ${window} chunk(s) in flight: ${(size / 1e6 / seconds).toFixed(1)} MB/s (${seconds.toFixed(2)} s), server RSS peak ${mib(stop())} MiB`,
    );
  }
  {
    const stop = watch(server.pid);
    const t0 = performance.now();
    await overHttp(server.url, alice.token, chat.id, bytes, 'bench.bin');
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `HTTP multipart: ${(size / 1e6 / seconds).toFixed(1)} MB/s (${seconds.toFixed(2)} s), server RSS peak ${mib(stop())} MiB`,
    );
  }
  {
    // A 24-megapixel photo of noise (incompressible: the largest JPEG such a camera makes).
    const photo = await sharp(randomBytes(6000 * 4000 * 3), {
      raw: { width: 6000, height: 4000, channels: 3 },
    })
      .jpeg({ quality: 90 })
      .toBuffer();
    const stop = watch(server.pid);
    const t0 = performance.now();
    const a = await overHttp(server.url, alice.token, chat.id, photo, 'photo.jpg');
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `HTTP, a ${mib(photo.length)} MiB 6000x4000 JPEG (${a.kind}, thumbnail ${a.thumbnail_url ? 'made' : 'none'}): ${seconds.toFixed(2)} s, server RSS peak ${mib(stop())} MiB`,
    );
  }
} finally {
  closeSockets();
  await server.stop('SIGTERM');
  await killChildren();
  removeTempDirs();
  await drop();
}
