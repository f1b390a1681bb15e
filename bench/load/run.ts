// The load benchmark: Parley (embedded, and PostgreSQL when DATABASE_URL is set) and the relay
// (bench/relay: Socket.IO alone, same rooms and acks) under the same open-loop load, in one run,
// so that every figure is also a ratio to the ceiling on this machine. Writes
// bench/results/load-<time>.json and the chart beside it. See docs/PERFORMANCE.md.
//   npm run bench [-- --scenarios start,steady,reading,bigroom,idle,storm --targets embedded,postgres,relay
//                     --rates 250,500,750,1000,1500,2000 --step 10 --profile]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { freshDatabase } from '../../packages/server/test/helpers/server.js';
import {
  removeTempDirs,
  spawnServer,
  tempDir,
} from '../../packages/server/test/helpers/process.js';
import { renderChart } from './chart.js';
import { heapBySelfSize, memoryAfterGc, openInspector, type Memory } from './memory.js';
import { seed, type Seeded } from './seed.js';
import type { FromWorker, StepReport, ToWorker, WorkerInit } from './worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'start,steady,reading,bigroom,idle,storm' },
    targets: { type: 'string' },
    rates: {
      type: 'string',
      default: '250,500,750,1000,1500,2000,2500,3000,4000,5000,6000,8000,10000',
    },
    'reading-rates': { type: 'string', default: '100,250,500,750,1000,1500,2000,3000' },
    'bigroom-rates': { type: 'string', default: '10,25,50,100,200' },
    step: { type: 'string', default: '10' },
    users: { type: 'string', default: '500' },
    group: { type: 'string', default: '10' },
    'idle-sockets': { type: 'string', default: '2000' },
    'storm-sockets': { type: 'string', default: '10000' },
    workers: { type: 'string', default: '2' },
    profile: { type: 'boolean', default: false },
    heap: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(root, 'bench', 'results') },
  },
});

type Target = 'embedded' | 'postgres' | 'relay';
const targets = (
  args.targets ?? `embedded,${process.env.DATABASE_URL ? 'postgres,' : ''}relay`
).split(',') as Target[];
const scenarios = args.scenarios.split(',');
const stepSeconds = Number(args.step);
const workerCount = Number(args.workers);
const secret = randomBytes(32).toString('hex');
const CLEAN_P99_MS = 100;

// Parley is measured as `npm start` runs it: the compiled server, built here when stale.
if (targets.some((t) => t !== 'relay')) {
  const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'ensure-server.mjs')], {
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error('building the server failed');
}

// ---------------------------------------------------------------- process figures (Linux /proc)

const TICKS = 100; // USER_HZ on Linux
/** CPU seconds of a process; with `reaped`, also those of its children that have exited. */
function cpuOf(pid: number, reaped = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(fields[11]) + Number(fields[12]);
    return (reaped ? own + Number(fields[13]) + Number(fields[14]) : own) / TICKS;
  } catch {
    return 0;
  }
}
/**
 * CPU seconds of every PostgreSQL process on the machine (the cluster is the bench's alone),
 * those that have exited included: a backend or autovacuum worker that ends during a step
 * leaves its time in the postmaster's count of reaped children (without it, the sum fell, and
 * a step once read -0.45 s per 1000 sends).
 */
function postgresCpu(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres')
        total += cpuOf(Number(entry), true);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
/**
 * The machine's CPU time so far, and the part of it the hypervisor gave to others ("steal",
 * /proc/stat): on a virtual machine a step with steal ran on less than two cores, and its
 * figures (the relay's as well as Parley's) do not compare with a step without.
 */
function machineTicks(): { total: number; steal: number } {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
    // user nice system idle iowait irq softirq steal (guest time is inside user already)
    const ticks = cpu.slice(0, 8).map(Number);
    return { total: ticks.reduce((a, b) => a + b, 0), steal: ticks[7] ?? 0 };
  } catch {
    return { total: 0, steal: 0 };
  }
}
const stealPercent = (from: ReturnType<typeof machineTicks>) => {
  const to = machineTicks();
  const total = to.total - from.total;
  return total > 0 ? Number((((to.steal - from.steal) / total) * 100).toFixed(1)) : 0;
};
const MiB = 1024 * 1024;

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- servers

interface Running {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** A fresh DATA_DIR, and for the postgres target a fresh database (dropped by `drop`). */
async function storeFor(target: Target, prefix: string) {
  const dataDir = tempDir(prefix);
  const { databaseUrl, drop } =
    target === 'postgres'
      ? await freshDatabase()
      : { databaseUrl: undefined, drop: () => Promise.resolve() };
  if (target === 'postgres' && !databaseUrl)
    throw new Error('the postgres target needs DATABASE_URL');
  return { dataDir, databaseUrl, drop };
}

async function startTarget(
  target: Target,
  users: number,
  groupSize: number,
): Promise<{ server: Running; seeded: Seeded }> {
  const { dataDir, databaseUrl, drop } = await storeFor(target, 'parley-load-');
  // The relay reads the same seed (a PGlite store nobody serves), so that both see the same users.
  const seeded = await seed({ databaseUrl, dataDir, users, groupSize, secret });
  if (target === 'relay') {
    const file = path.join(dataDir, 'memberships.json');
    const memberships: Record<string, { username: string; chats: string[] }> = {};
    for (const u of seeded.users) memberships[u.id] = { username: u.username, chats: [] };
    for (const c of seeded.chats)
      for (const m of c.members) memberships[seeded.users[m]!.id]!.chats.push(c.id);
    writeFileSync(file, JSON.stringify(memberships));
    const child = spawn(
      process.execPath,
      [...profileFlags(target), '--import', 'tsx', path.join(root, 'bench/relay/server.ts')],
      {
        env: { ...process.env, PORT: '0', JWT_SECRET: secret, MEMBERSHIPS: file },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const url = await listeningUrl(child);
    return { seeded, server: { pid: child.pid!, url, stop: () => stopChild(child) } };
  }
  const child = spawnServer({
    dataDir,
    databaseUrl,
    compiled: true,
    env: {
      JWT_SECRET: secret,
      // The benchmark sends faster than one user may: the limits would measure themselves.
      RATE_LIMIT_EVENTS: '0',
      RATE_LIMIT_MESSAGES: '0',
      MAX_SOCKETS_PER_USER: '20',
    },
    nodeArgs: profileFlags(target),
  });
  const url = await child.ready;
  return {
    seeded,
    server: {
      pid: child.pid,
      url,
      stop: async () => {
        await child.stop('SIGTERM');
        await drop();
      },
    },
  };
}

function profileFlags(target: Target): string[] {
  if (!args.profile) return [];
  // A directory per target and Node's own names (which carry the thread's id): the embedded
  // target writes two profiles, its main thread's and its PGlite thread's.
  const dir = path.join(args.out, 'profiles', `${target}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let pending = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      const m = /"url":"([^"]+)"/.exec(pending);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------- the load generator's threads

class Clients {
  private readonly workers: Worker[] = [];
  private constructor() {}

  static async open(url: string, sockets: WorkerInit['sockets'], readers = false) {
    const clients = new Clients();
    for (let w = 0; w < workerCount; w++) {
      const share = sockets.filter((_, i) => i % workerCount === w);
      const init: WorkerInit = { workerId: w, url, sockets: share, readers };
      clients.workers.push(
        new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: init }),
      );
    }
    const started = performance.now();
    const answers = await clients.ask({ type: 'connect' }, 'connected');
    const connectMs = performance.now() - started;
    let ok = 0;
    let failed = 0;
    const errors: Record<string, number> = {};
    for (const a of answers) {
      ok += a.ok;
      failed += a.failed;
      for (const [k, v] of Object.entries(a.errors)) errors[k] = (errors[k] ?? 0) + v;
    }
    return { clients, ok, failed, errors, connectMs };
  }

  ask<T extends FromWorker['type']>(
    msg: ToWorker,
    answer: T,
  ): Promise<Extract<FromWorker, { type: T }>[]> {
    return Promise.all(
      this.workers.map(
        (w) =>
          new Promise<Extract<FromWorker, { type: T }>>((resolve) => {
            const on = (m: FromWorker) => {
              if (m.type !== answer) return;
              w.off('message', on);
              resolve(m as Extract<FromWorker, { type: T }>);
            };
            w.on('message', on);
            w.postMessage(msg);
          }),
      ),
    );
  }

  tell(msg: ToWorker) {
    for (const w of this.workers) w.postMessage(msg);
  }

  async close() {
    await this.ask({ type: 'close' }, 'closed');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// ---------------------------------------------------------------- one rate step

const pct = (sorted: Float64Array, p: number) =>
  sorted.length === 0
    ? null
    : Number(
        sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(2),
      );

interface StepResult {
  offered_per_s: number;
  sent: number;
  acked: number;
  ack_errors: Record<string, number>;
  acks_per_s: number;
  deliveries_per_s: number;
  expected_deliveries: number;
  delivered: number;
  lost: number;
  duplicates: number;
  ack_ms: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  delivery_ms: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  /** The reading scenario's `message:read`s: from a message's arrival to the read's ack. */
  reads?: {
    sent: number;
    acked: number;
    per_s: number;
    errors: number;
    ack_ms: { p50: number | null; p99: number | null; max: number | null };
  };
  /** The machine's CPU time the hypervisor took during the step's sends (machineTicks). */
  steal_percent: number;
  cpu_s_per_1000_sends: { server: number; postgres: number | null; load_generator: number };
  server_rss_mib: number;
  clean: boolean;
  saturated: boolean;
}

let stepIds = 0;
async function runStep(
  clients: Clients,
  server: Running,
  rate: number,
  fanout: number,
  withPostgres: boolean,
  durationMs = stepSeconds * 1000,
): Promise<StepResult> {
  const stepId = ++stepIds;
  const cpu0 = { server: cpuOf(server.pid), pg: withPostgres ? postgresCpu() : 0, self: selfCpu() };
  const machine0 = machineTicks();
  const startAt = performance.timeOrigin + performance.now() + 200;
  clients.tell({ type: 'step', stepId, perSecond: rate / workerCount, startAt, durationMs });
  await sleep(durationMs + 200);
  const steal = stealPercent(machine0);
  // Drain: until deliveries stop coming (or 15 s), so that late is told from lost.
  let last = -1;
  for (let quiet = 0, waited = 0; quiet < 4 && waited < 15_000; waited += 250) {
    await sleep(250);
    const counts = await clients.ask({ type: 'counts' }, 'counts');
    const total = counts.reduce((n, c) => n + c.deliveries + c.acked + c.reads, 0);
    quiet = total === last ? quiet + 1 : 0;
    last = total;
  }
  const rss = rssMiB(server.pid);
  const cpu1 = { server: cpuOf(server.pid), pg: withPostgres ? postgresCpu() : 0, self: selfCpu() };
  const reports = (await clients.ask({ type: 'report', stepId }, 'report')).map((r) => r.report);
  const merge = (pick: (r: StepReport) => Float64Array) => {
    const all = new Float64Array(reports.reduce((n, r) => n + pick(r).length, 0));
    let at = 0;
    for (const r of reports) {
      all.set(pick(r), at);
      at += pick(r).length;
    }
    return all.sort();
  };
  const ackMs = merge((r) => r.ackMs);
  const deliveryMs = merge((r) => r.deliveryMs);
  const readMs = merge((r) => r.readMs);
  const sum = (pick: (r: StepReport) => number) => reports.reduce((n, r) => n + pick(r), 0);
  const sent = sum((r) => r.sent);
  const acked = sum((r) => r.acked);
  const ackErrors: Record<string, number> = {};
  for (const r of reports)
    for (const [k, v] of Object.entries(r.errorCodes)) ackErrors[k] = (ackErrors[k] ?? 0) + v;
  const expected = acked * fanout;
  const seconds = durationMs / 1000;
  const ack = {
    p50: pct(ackMs, 50),
    p95: pct(ackMs, 95),
    p99: pct(ackMs, 99),
    max: pct(ackMs, 100),
  };
  const delivery = {
    p50: pct(deliveryMs, 50),
    p95: pct(deliveryMs, 95),
    p99: pct(deliveryMs, 99),
    max: pct(deliveryMs, 100),
  };
  const lost = Math.max(0, expected - deliveryMs.length);
  const duplicates = sum((r) => r.duplicates);
  const per1000 = (s: number) => Number(((s / Math.max(1, sent)) * 1000).toFixed(3));
  const reads = sum((r) => r.reads);
  const readsAcked = sum((r) => r.readsAcked);
  const readErrors = sum((r) => r.readErrors);
  const readP99 = pct(readMs, 99);
  // Behind: sends or reads unanswered after the schedule, or their acks a second late.
  const saturated =
    sent - acked - sum((r) => r.ackErrors) > 0 ||
    reads - readsAcked - readErrors > 0 ||
    (ack.p99 ?? 0) > 1000 ||
    (readP99 ?? 0) > 1000;
  const clean =
    !saturated &&
    acked === sent &&
    readsAcked === reads &&
    (readP99 ?? 0) < CLEAN_P99_MS &&
    lost === 0 &&
    duplicates === 0 &&
    (ack.p99 ?? 0) < CLEAN_P99_MS &&
    (delivery.p99 ?? 0) < CLEAN_P99_MS;
  return {
    offered_per_s: rate,
    sent,
    acked,
    ack_errors: ackErrors,
    acks_per_s: Number((acked / seconds).toFixed(1)),
    deliveries_per_s: Number((deliveryMs.length / seconds).toFixed(1)),
    expected_deliveries: expected,
    delivered: deliveryMs.length,
    lost,
    duplicates,
    ack_ms: ack,
    delivery_ms: delivery,
    ...(reads > 0 && {
      reads: {
        sent: reads,
        acked: readsAcked,
        per_s: Number((readsAcked / seconds).toFixed(1)),
        errors: readErrors,
        ack_ms: { p50: pct(readMs, 50), p99: readP99, max: pct(readMs, 100) },
      },
    }),
    steal_percent: steal,
    cpu_s_per_1000_sends: {
      server: per1000(cpu1.server - cpu0.server),
      postgres: withPostgres ? per1000(cpu1.pg - cpu0.pg) : null,
      load_generator: per1000(cpu1.self - cpu0.self),
    },
    server_rss_mib: Number(rss.toFixed(1)),
    clean,
    saturated,
  };
}

// ---------------------------------------------------------------- scenarios

async function ladder(
  target: Target,
  users: number,
  groupSize: number,
  rates: number[],
  readers = false,
) {
  const { server, seeded } = await startTarget(target, users, groupSize);
  const sockets = seeded.users.map((u, i) => ({
    token: u.token,
    userId: u.id,
    chatId: seeded.chats[Math.floor(i / groupSize)]!.id,
  }));
  const { clients, failed, errors } = await Clients.open(server.url, sockets, readers);
  if (failed > 0) {
    // Deliveries to members who never connected would count as losses: the ladder is not run,
    // and the refusal is the finding.
    await clients.close();
    await server.stop();
    log(
      `${target}: ${failed} of ${sockets.length} sockets failed to connect ${JSON.stringify(errors)}`,
    );
    return { connect_failed: failed, errors, max_clean_rate: 0, steps: [] };
  }
  const idleRss = rssMiB(server.pid);
  const steps: StepResult[] = [];
  try {
    // Warm-up, not recorded: the first sends of a fresh process pay for JIT and cold caches.
    await runStep(clients, server, rates[0]!, groupSize, false, 3000);
    for (const rate of rates) {
      const step = await runStep(clients, server, rate, groupSize, target === 'postgres');
      steps.push(step);
      log(
        `${target} ${rate}/s: acks ${step.acks_per_s}/s p50 ${step.ack_ms.p50} p99 ${step.ack_ms.p99} ms,` +
          ` delivery p99 ${step.delivery_ms.p99} ms, lost ${step.lost}, dup ${step.duplicates},` +
          (step.reads
            ? ` reads ${step.reads.per_s}/s p99 ${step.reads.ack_ms.p99} ms (${step.reads.errors} refused),`
            : '') +
          ` cpu/1000 ${step.cpu_s_per_1000_sends.server}s, steal ${step.steal_percent} %${step.saturated ? '  SATURATED' : step.clean ? '' : '  not clean'}`,
      );
      if (step.saturated) break;
      await sleep(1000);
    }
  } finally {
    await clients.close();
    await server.stop();
  }
  const cleanRates = steps.filter((s) => s.clean).map((s) => s.offered_per_s);
  return {
    idle_rss_mib: Number(idleRss.toFixed(1)),
    max_clean_rate: cleanRates.length ? Math.max(...cleanRates) : 0,
    steps,
  };
}

/** What one socket keeps, by kind of object (`--heap`): the largest 30, in bytes. */
function logHeapPerSocket(before: string, after: string, sockets: number) {
  const [was, now] = [heapBySelfSize(before), heapBySelfSize(after)];
  const grown = [...now].map(
    ([key, bytes]) => [key, (bytes - (was.get(key) ?? 0)) / sockets] as const,
  );
  grown.sort((a, b) => b[1] - a[1]);
  const total = grown.reduce((sum, [, bytes]) => sum + bytes, 0);
  log(`per socket, heap objects by kind (${total.toFixed(0)} B in all):`);
  for (const [key, bytes] of grown.slice(0, 30)) log(`  ${bytes.toFixed(0).padStart(6)} B  ${key}`);
}

const WARM_UP_SOCKETS = 100;

/** How long the idle scenario lets the server rest before its first reading of RSS. */
const REST_MS = 20_000;

async function idle(target: Target, count: number) {
  // Users of their own for the warm-up: none of the measured ones has been connected before.
  const { server, seeded } = await startTarget(target, count + WARM_UP_SOCKETS, 10);
  const [measured, warmUp] = [seeded.users.slice(0, count), seeded.users.slice(count)];
  // A first handful connected and gone: what the first handshakes compile and set up once (code,
  // caches, pools) is not any socket's cost, and the second reading would charge it to them.
  const warm = await Clients.open(
    server.url,
    warmUp.map((u) => ({ token: u.token, userId: u.id, chatId: null })),
  );
  await warm.clients.close();
  // The server at rest as it runs: no inspector yet (it costs memory of its own), and long enough
  // for V8's memory reducer, which gives back what start-up and the warm-up left (about 9 s).
  await sleep(REST_MS);
  const atRest = rssMiB(server.pid);
  // Opened before the readings that are compared, so that both include the inspector's memory;
  // the second pair is read after a full GC.
  await openInspector(server.pid);
  await sleep(3000);
  const before = rssMiB(server.pid);
  // A heap snapshot grows the process's RSS: with --heap, read the GC figures, not the RSS ones.
  const snapshots = args.heap
    ? [`${target}-before`, `${target}-after`].map((n) => path.join(args.out, `${n}.heapsnapshot`))
    : [];
  const gcBefore = await memoryAfterGc(server.pid, snapshots[0]);
  const { clients, ok, failed } = await Clients.open(
    server.url,
    measured.map((u) => ({ token: u.token, userId: u.id, chatId: null })),
  );
  await sleep(5000);
  const after = rssMiB(server.pid);
  const gcAfter = await memoryAfterGc(server.pid, snapshots[1]);
  await clients.close();
  await server.stop();
  const sockets = Math.max(1, ok);
  const perSocketKiB = ((after - before) * 1024) / sockets;
  const kib = (bytes: number) => Number((bytes / 1024 / sockets).toFixed(2));
  const kept = (m: Memory) => m.heapUsed + m.external;
  log(
    `${target} idle: at rest ${atRest.toFixed(0)} MiB; ${ok} sockets, RSS ${before.toFixed(0)} -> ${after.toFixed(0)} MiB, ${perSocketKiB.toFixed(1)} KiB/socket; ` +
      `after GC: RSS ${(gcBefore.rss / MiB).toFixed(0)} -> ${(gcAfter.rss / MiB).toFixed(0)} MiB, ` +
      `heap+external ${kib(kept(gcAfter) - kept(gcBefore))} KiB/socket`,
  );
  if (snapshots.length) logHeapPerSocket(snapshots[0]!, snapshots[1]!, sockets);
  return {
    rss_at_rest_mib: Number(atRest.toFixed(1)),
    sockets: ok,
    failed,
    rss_before_mib: Number(before.toFixed(1)),
    rss_after_mib: Number(after.toFixed(1)),
    kib_per_socket: Number(perSocketKiB.toFixed(2)),
    after_gc: {
      rss_before_mib: Number((gcBefore.rss / MiB).toFixed(1)),
      rss_after_mib: Number((gcAfter.rss / MiB).toFixed(1)),
      rss_kib_per_socket: kib(gcAfter.rss - gcBefore.rss),
      heap_external_kib_per_socket: kib(kept(gcAfter) - kept(gcBefore)),
    },
  };
}

async function storm(target: Target, count: number) {
  const { server, seeded } = await startTarget(target, count, 10);
  const cpuBefore = cpuOf(server.pid);
  const { clients, ok, failed, errors, connectMs } = await Clients.open(
    server.url,
    seeded.users.map((u) => ({ token: u.token, userId: u.id, chatId: null })),
  );
  const cpu = cpuOf(server.pid);
  const alive = cpu > 0;
  const cpuPerConnectMs = ((cpu - cpuBefore) * 1000) / Math.max(1, ok);
  const rss = rssMiB(server.pid);
  await clients.close();
  await server.stop();
  log(
    `${target} storm: ${ok}/${count} connected in ${(connectMs / 1000).toFixed(1)} s, ${failed} failed ${JSON.stringify(errors)}, server CPU ${cpuPerConnectMs.toFixed(2)} ms a connect`,
  );
  return {
    sockets: count,
    connected: ok,
    failed,
    errors,
    seconds: Number((connectMs / 1000).toFixed(2)),
    server_alive: alive,
    server_cpu_ms_per_connect: Number(cpuPerConnectMs.toFixed(3)),
    server_rss_mib: Number(rss.toFixed(1)),
  };
}

/**
 * Start to `listening` on an existing data directory (embedded) or migrated database (PostgreSQL):
 * from spawning the compiled server to its `listening` line, as `npm start` runs it once built.
 */
async function startup(target: Exclude<Target, 'relay'>, runs = 5) {
  const { dataDir, databaseUrl, drop } = await storeFor(target, 'parley-start-');
  const once = async () => {
    const begun = performance.now();
    const child = spawnServer({
      dataDir,
      databaseUrl,
      compiled: true,
      env: { JWT_SECRET: secret },
    });
    await child.ready;
    const ms = performance.now() - begun;
    await child.stop('SIGTERM');
    return ms;
  };
  const times: number[] = [];
  try {
    await once(); // creates the cluster (embedded) or the schema (PostgreSQL)
    for (let i = 0; i < runs; i++) times.push(await once());
  } finally {
    await drop();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  log(
    `${target} start: ${times.map((t) => t.toFixed(0)).join(', ')} ms (median ${median.toFixed(0)})`,
  );
  return { runs_ms: times.map((t) => Math.round(t)), median_ms: Math.round(median) };
}

const log = (line: string) => console.error(`[bench] ${line}`);

/** A git command's output in the repository, trimmed; null outside a git checkout. */
function gitOutput(args: string[]): string | null {
  const run = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : null;
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const jsonFile = path.join(args.out, `load-${stamp}.json`);
// Made first: the idle scenario's heap snapshots are written there before any JSON.
mkdirSync(args.out, { recursive: true });
const result: Record<string, unknown> = {
  when: new Date().toISOString(),
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  // What was measured: the commit, and whether the tree held changes beside it.
  commit: gitOutput(['rev-parse', 'HEAD']),
  uncommitted_changes: gitOutput(['status', '--porcelain', '--untracked-files=no']) !== '',
  step_seconds: stepSeconds,
  targets,
};
try {
  for (const scenario of scenarios) {
    const byTarget: Record<string, unknown> = {};
    for (const target of targets) {
      if (scenario === 'steady') {
        byTarget[target] = await ladder(
          target,
          Number(args.users),
          Number(args.group),
          args.rates.split(',').map(Number),
        );
      } else if (scenario === 'reading') {
        byTarget[target] = await ladder(
          target,
          Number(args.users),
          Number(args.group),
          args['reading-rates'].split(',').map(Number),
          true,
        );
      } else if (scenario === 'bigroom') {
        byTarget[target] = await ladder(
          target,
          1000,
          1000,
          args['bigroom-rates'].split(',').map(Number),
        );
      } else if (scenario === 'idle') {
        byTarget[target] = await idle(target, Number(args['idle-sockets']));
      } else if (scenario === 'storm') {
        byTarget[target] = await storm(target, Number(args['storm-sockets']));
      } else if (scenario === 'start') {
        if (target !== 'relay') byTarget[target] = await startup(target);
      } else {
        throw new Error(`unknown scenario ${scenario}`);
      }
    }
    result[scenario] = byTarget;
    // Written after every scenario: a run cut short keeps what it measured.
    writeFileSync(jsonFile, JSON.stringify(result, null, 2));
  }
} finally {
  removeTempDirs();
}
const ratios: Record<string, number> = {};
const steady = result.steady as Record<string, { max_clean_rate: number }> | undefined;
if (steady?.relay?.max_clean_rate) {
  for (const t of targets)
    if (t !== 'relay' && steady[t])
      ratios[t] = Number((steady[t].max_clean_rate / steady.relay.max_clean_rate).toFixed(2));
  result.max_clean_rate_ratio_to_relay = ratios;
}
writeFileSync(jsonFile, JSON.stringify(result, null, 2));
if (steady) writeFileSync(jsonFile.replace(/\.json$/, '.svg'), renderChart(result));
console.log(JSON.stringify(result, null, 2));
log(`wrote ${jsonFile}`);
