// Sends per second across processes: N real server processes on one PostgreSQL database and one
// Redis, users in groups with their sockets spread round-robin over the processes (so a group's
// deliveries cross processes), each user sending on a fixed schedule whatever the acks do (open
// loop: a slow server shows as latency and backlog, not as a politely lower offered rate).
// A ladder of offered rates; per step: acked/s, delivered/s, ack and delivery latency from the
// scheduled send time, losses, duplicates, and where the CPU went.
//
// Usage: npm run bench:cluster -- --nodes 2 [--rates 200,400,600,800,1000 --step-seconds 10
//          --users 100 --group-size 10 --redis on|off|both --cpu-prof DIR]
// --cpu-prof writes each server's CPU profile of each step to DIR (open in Chrome's DevTools).
// --nodes 1 runs one process without REDIS_URL (the baseline) and then one with it, unless
// --redis says otherwise. DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/test (a
// fresh database is made there per configuration and dropped); REDIS_URL to
// redis://127.0.0.1:6379, with a key prefix of the run's own, deleted after.
// The load generator shares the machine with the servers, PostgreSQL and Redis: its own CPU and
// event-loop delay are reported per step so that a saturated generator is not read as a slow server.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createClient } from 'redis';
import type { Chat, Message } from '@parley/protocol';
import {
  closeSockets,
  connect,
  createGroup,
  emitAck,
  registerUser,
  type ClientSocket,
  type TestUser,
} from '../packages/server/test/helpers/client.js';
import {
  killChildren,
  removeTempDirs,
  sleep,
  startChild,
  tempDir,
  type ChildServer,
} from '../packages/server/test/helpers/process.js';
import { freshDatabase } from '../packages/server/test/helpers/server.js';
import { percentile } from './harness.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2' },
    users: { type: 'string', default: '100' },
    'group-size': { type: 'string', default: '10' },
    rates: { type: 'string', default: '200,400,600,800,1000' },
    'step-seconds': { type: 'string', default: '10' },
    redis: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});

const nodeCount = Number(values.nodes);
const userCount = Number(values.users);
const groupSize = Number(values['group-size']);
const rates = values.rates.split(',').map(Number);
const stepSeconds = Number(values['step-seconds']);
const redisMode = values.redis ?? (nodeCount === 1 ? 'both' : 'on');
if (
  !(nodeCount >= 1 && userCount >= groupSize && groupSize >= 2 && userCount % groupSize === 0) ||
  rates.some((r) => !(r > 0)) ||
  !(stepSeconds > 0) ||
  !['on', 'off', 'both'].includes(redisMode) ||
  (nodeCount > 1 && redisMode !== 'on')
) {
  throw new Error(
    'usage: --nodes N --users U --group-size G (G divides U) --rates r1,r2 --step-seconds S ' +
      '--redis on|off|both (off and both: one process only)',
  );
}

// freshDatabase reads DATABASE_URL from the environment; REDIS_URL with the embedded store is refused.
process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The contract's "delivered": a member has an acked message within this of its ack. */
const DELIVERY_DEADLINE_MS = 5000;
/** The bar for "clean": every message acked and delivered once, both p99s under this. */
const CLEAN_P99_MS = 100;
/** How long a step's acks may trail its last send before the rest count as unacked. */
const ACK_DRAIN_MS = 20_000;

// --- CPU accounting from /proc: where the machine's two cores went during a step ------------

const TICKS_PER_S = 100; // USER_HZ, 100 on Linux everywhere we run

/** utime + stime of a process (and, with `ppid`, its parent's pid), or undefined once it is gone. */
function procStat(pid: number): { ticks: number; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces: state is field 3.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ticks: Number(f[11]) + Number(f[12]), ppid: Number(f[1]) };
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL's CPU for this run: the postmaster, its shared workers (WAL writer, checkpointer, ...)
 * and the backends of our database, named in each backend's process title. Other databases'
 * backends (other test runs on the same server) are left out; they show under "others".
 */
function postgresTicks(postmaster: number, database: string): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = procStat(pid);
    if (!stat || (pid !== postmaster && stat.ppid !== postmaster)) continue;
    let title = '';
    try {
      title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const otherDatabase = /\d\(\d+\)|\[local\]|autovacuum worker/.test(title);
    if (title.includes(database) || !otherDatabase) ticks.set(pid, stat.ticks);
  }
  return ticks;
}

function machineTicks(): { busy: number; iowait: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = fields.map(Number);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - n[3]! - n[4]!, iowait: n[4]!, total };
}

interface CpuSnapshot {
  at: number;
  servers: (number | undefined)[];
  postgres: Map<number, number>;
  redis: number | undefined;
  loadgen: NodeJS.CpuUsage;
  machine: { busy: number; iowait: number; total: number };
}

interface Pids {
  servers: number[];
  postmaster: number;
  database: string;
  redis: number | undefined;
}

function snapshot(pids: Pids): CpuSnapshot {
  return {
    at: performance.now(),
    servers: pids.servers.map((p) => procStat(p)?.ticks),
    postgres: postgresTicks(pids.postmaster, pids.database),
    redis: pids.redis === undefined ? undefined : procStat(pids.redis)?.ticks,
    loadgen: process.cpuUsage(),
    machine: machineTicks(),
  };
}

/** CPU used between two snapshots, in cores (1.0 = one core busy the whole time). */
function cpuBetween(a: CpuSnapshot, b: CpuSnapshot) {
  const seconds = (b.at - a.at) / 1000;
  const cores = (ticks: number) => Number((ticks / TICKS_PER_S / seconds).toFixed(2));
  let pgTicks = 0;
  // A backend that exited between the snapshots is missed; one that started counts in full.
  for (const [pid, t] of b.postgres) pgTicks += t - (a.postgres.get(pid) ?? 0);
  const used = process.cpuUsage(a.loadgen);
  const machine = (field: 'busy' | 'iowait') =>
    Number(
      (
        ((b.machine[field] - a.machine[field]) / (b.machine.total - a.machine.total)) *
        cpus().length
      ).toFixed(2),
    );
  const servers = b.servers.map((t, i) => cores((t ?? 0) - (a.servers[i] ?? 0)));
  const postgres = cores(pgTicks);
  const redis = a.redis === undefined || b.redis === undefined ? null : cores(b.redis - a.redis);
  const loadgen = Number(((used.user + used.system) / 1e6 / seconds).toFixed(2));
  const ours = servers.reduce((x, y) => x + y, 0) + postgres + (redis ?? 0) + loadgen;
  return {
    servers,
    postgres,
    redis,
    loadgen,
    machine_busy: machine('busy'),
    /** The machine's busy time that none of the above used: other agents' tests, the kernel. */
    others: Math.max(0, Number((machine('busy') - ours).toFixed(2))),
    /** Cores idle while waiting on the disk (PostgreSQL's WAL flush, mostly). */
    iowait: machine('iowait'),
  };
}

// --- One configuration: start, load, measure, tear down --------------------------------------

interface Sent {
  step: number;
  sender: number;
  scheduled: number;
  ackedAt: number;
  ackError: string | undefined;
  /** Per member of the sender's group, by position: when it arrived (0: not yet). */
  arrived: Float64Array;
  duplicates: number;
}

interface StepResult {
  offered_per_s: number;
  sent: number;
  acked: number;
  ack_errors: number;
  unacked: number;
  acked_per_s: number;
  delivered_per_s: number;
  ack_p50_ms: number | null;
  ack_p99_ms: number | null;
  ack_max_ms: number | null;
  delivery_p50_ms: number | null;
  delivery_p99_ms: number | null;
  deliveries: number;
  deliveries_expected: number;
  cross_process_share: number;
  /** Acked, but some member had not received it within DELIVERY_DEADLINE_MS of the ack. */
  losses: number;
  duplicates: number;
  loadgen_loop_delay_p99_ms: number;
  cpu_cores: ReturnType<typeof cpuBetween>;
  clean: boolean;
}

interface ConfigResult {
  label: string;
  processes: number;
  redis: boolean;
  setup_s: number;
  steps: StepResult[];
  max_clean_rate: number | null;
  stopped_early: string | null;
}

/**
 * A module each server imports first (NODE_OPTIONS; Node 20 refuses --cpu-prof there) that
 * profiles the process between two SIGUSR2s, so a profile holds a step and not the start-up.
 */
function profileHook(dir: string): string {
  const absolute = path.resolve(dir);
  mkdirSync(absolute, { recursive: true });
  const file = path.join(absolute, 'profile-hook.mjs');
  writeFileSync(
    file,
    `import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
const session = new Session();
session.connect();
let running = false;
let n = 0;
process.on('SIGUSR2', () => {
  if (!running) {
    session.post('Profiler.enable', () => session.post('Profiler.start'));
  } else {
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(${JSON.stringify(absolute)} + '/server-' + process.pid + '-' + n++ + '.cpuprofile', JSON.stringify(result.profile));
    });
  }
  running = !running;
});
`,
  );
  return file;
}

async function redisPid(): Promise<number | undefined> {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    const info = await client.info('server');
    const match = /process_id:(\d+)/.exec(info);
    return match ? Number(match[1]) : undefined;
  } finally {
    client.destroy();
  }
}

async function postmasterPid(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const res = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return procStat(res.rows[0]!.pid)!.ppid;
  } finally {
    await client.end();
  }
}

/** Removes what the run left in the shared Redis (the stream, presence, limiter keys). */
async function dropRedisKeys(prefix: string): Promise<void> {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length) await client.unlink(keys);
    }
  } finally {
    client.destroy();
  }
}

async function runConfig(processes: number, withRedis: boolean): Promise<ConfigResult> {
  const label = `${processes} process${processes > 1 ? 'es' : ''}, ${withRedis ? 'Redis' : 'no Redis'}`;
  const setupStarted = performance.now();
  const { databaseUrl, drop } = await freshDatabase();
  const prefix = `parley-bench-${randomBytes(4).toString('hex')}:`;
  const jwtSecret = randomBytes(32).toString('hex');
  const env: Record<string, string | undefined> = {
    JWT_SECRET: jwtSecret,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_MESSAGES: '0',
    RATE_LIMIT_EVENTS: '0',
    RATE_LIMIT_AUTH: '0',
    ...(withRedis ? { REDIS_URL, REDIS_PREFIX: prefix } : {}),
    ...(values['cpu-prof']
      ? {
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${profileHook(values['cpu-prof'])}`,
        }
      : {}),
  };
  const servers: (ChildServer & { url: string })[] = [];
  try {
    // The first runs the migrations alone; the rest then start together.
    servers.push(await startChild({ dataDir: tempDir('parley-bench-'), databaseUrl, env }));
    servers.push(
      ...(await Promise.all(
        Array.from({ length: processes - 1 }, () =>
          startChild({ dataDir: tempDir('parley-bench-'), databaseUrl, env }),
        ),
      )),
    );
    const pids: Pids = {
      servers: servers.map((s) => s.pid),
      postmaster: await postmasterPid(databaseUrl!),
      database: new URL(databaseUrl!).pathname.slice(1),
      redis: withRedis ? await redisPid() : undefined,
    };

    // Password hashing is deliberately slow: a few registrations at a time.
    const users: TestUser[] = [];
    for (let i = 0; i < userCount; i += 4) {
      const batch = Math.min(4, userCount - i);
      users.push(
        ...(await Promise.all(
          Array.from({ length: batch }, (_, k) => registerUser(servers[(i + k) % processes]!.url)),
        )),
      );
    }
    const groupOf = (u: number) => Math.floor(u / groupSize);
    const groups: Chat[] = [];
    for (let g = 0; g < userCount / groupSize; g++) {
      const members = users.slice(g * groupSize, (g + 1) * groupSize);
      groups.push(await createGroup(members[0]!, members.slice(1), `Bench ${g}`));
    }
    // Round-robin: user u on process u % N, so a group of 10 has members on every process.
    const nodeOf = (u: number) => u % processes;
    const sockets: ClientSocket[] = await Promise.all(
      users.map((user, u) => connect(servers[nodeOf(u)]!.url, user.token)),
    );

    const sent = new Map<string, Sent>();
    let strays = 0;
    sockets.forEach((socket, u) => {
      socket.on('message:new', (message: Message) => {
        const s = message.client_message_id ? sent.get(message.client_message_id) : undefined;
        if (!s || groupOf(s.sender) !== groupOf(u)) {
          strays++;
          return;
        }
        const position = u % groupSize;
        if (s.arrived[position]) s.duplicates++;
        else s.arrived[position] = performance.now();
      });
      // A socket that drops mid-run would show as losses; say why.
      socket.on('disconnect', (reason) => {
        if (reason !== 'io client disconnect') console.error(`socket ${u} disconnected: ${reason}`);
      });
    });

    const send = (step: number, j: number, scheduled: number) => {
      const sender = j % userCount;
      const clientMessageId = `s${step}-${j}`;
      const entry: Sent = {
        step,
        sender,
        scheduled,
        ackedAt: 0,
        ackError: undefined,
        arrived: new Float64Array(groupSize),
        duplicates: 0,
      };
      sent.set(clientMessageId, entry);
      void emitAck<'message:send', { message: Message }>(sockets[sender]!, 'message:send', {
        chatId: groups[groupOf(sender)]!.id,
        content: `bench ${clientMessageId}`,
        clientMessageId,
      }).then((ack) => {
        entry.ackedAt = performance.now();
        if (!ack.ok) entry.ackError = ack.error.code;
      });
    };

    /** Sends at `rate` for `seconds`, each on its own schedule, then waits for acks and deliveries. */
    const runStep = async (step: number, rate: number, seconds: number) => {
      const total = Math.round(rate * seconds);
      const start = performance.now() + 20;
      let next = 0;
      await new Promise<void>((resolve) => {
        // A coarse timer that catches up: whatever is due by now goes out now, stamped with the
        // time it was due, so a late timer (or a busy generator) shows in the latencies.
        const timer = setInterval(() => {
          const now = performance.now();
          while (next < total && start + (next * 1000) / rate <= now) {
            send(step, next, start + (next * 1000) / rate);
            next++;
          }
          if (next >= total) {
            clearInterval(timer);
            resolve();
          }
        }, 2);
      });
      const sendingEnded = performance.now();
      const entries = [...sent.values()].filter((s) => s.step === step);
      const settled = () =>
        entries.every((s) => s.ackedAt && (s.ackError || s.arrived.every((t) => t > 0)));
      for (;;) {
        const now = performance.now();
        if (settled()) break;
        const unacked = entries.some((s) => !s.ackedAt);
        const lastAck = Math.max(...entries.map((s) => s.ackedAt));
        if (unacked ? now > sendingEnded + ACK_DRAIN_MS : now > lastAck + DELIVERY_DEADLINE_MS)
          break;
        await sleep(50);
      }
      return { start, entries };
    };

    const setupSeconds = Number(((performance.now() - setupStarted) / 1000).toFixed(1));
    // Warm-up (JIT, pools, the stream reader), not reported.
    await runStep(-1, Math.min(100, rates[0]!), 3);
    await sleep(500);

    const steps: StepResult[] = [];
    let stoppedEarly: string | null = null;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    for (const [index, rate] of rates.entries()) {
      loop.reset();
      const profile = () => {
        if (values['cpu-prof']) for (const s of servers) s.process.kill('SIGUSR2');
      };
      profile();
      const before = snapshot(pids);
      const { start, entries } = await runStep(index, rate, stepSeconds);
      const cpu = cpuBetween(before, snapshot(pids));
      profile();
      const result = stepResult(rate, start, entries, loop, cpu, nodeOf);
      steps.push(result);
      console.error(`${label}: ${formatRow(result)}`);
      // Past saturation the backlog only grows and the next step measures the queue, not the server.
      if (result.acked_per_s < 0.9 * rate || (result.delivery_p99_ms ?? Infinity) > 2000) {
        if (index < rates.length - 1) stoppedEarly = `saturated at ${rate}/s`;
        break;
      }
      await sleep(1000);
    }
    loop.disable();
    if (strays) console.error(`${label}: ${strays} message:new events for no message of the run`);
    const clean = steps.filter((s) => s.clean).map((s) => s.offered_per_s);
    return {
      label,
      processes,
      redis: withRedis,
      setup_s: setupSeconds,
      steps,
      max_clean_rate: clean.length ? Math.max(...clean) : null,
      stopped_early: stoppedEarly,
    };
  } finally {
    closeSockets();
    await Promise.all(servers.map((s) => s.stop('SIGTERM')));
    await killChildren();
    removeTempDirs();
    await drop();
    if (withRedis) await dropRedisKeys(prefix);
    console.error(`${label}: done in ${((performance.now() - setupStarted) / 1000).toFixed(0)} s`);
  }
}

function stepResult(
  rate: number,
  start: number,
  entries: Sent[],
  loop: ReturnType<typeof monitorEventLoopDelay>,
  cpu: ReturnType<typeof cpuBetween>,
  nodeOf: (u: number) => number,
): StepResult {
  const acked = entries.filter((s) => s.ackedAt && !s.ackError);
  const ackTimes = acked.map((s) => s.ackedAt - s.scheduled).sort((a, b) => a - b);
  const deliveryTimes: number[] = [];
  let losses = 0;
  let duplicates = 0;
  let cross = 0;
  let lastAck = start;
  let lastDelivery = start;
  for (const s of acked) {
    lastAck = Math.max(lastAck, s.ackedAt);
    duplicates += s.duplicates;
    const groupStart = s.sender - (s.sender % groupSize);
    s.arrived.forEach((t, position) => {
      if (!t || t > s.ackedAt + DELIVERY_DEADLINE_MS) losses++;
      if (!t) return;
      deliveryTimes.push(t - s.scheduled);
      lastDelivery = Math.max(lastDelivery, t);
      if (nodeOf(groupStart + position) !== nodeOf(s.sender)) cross++;
    });
  }
  deliveryTimes.sort((a, b) => a - b);
  const pct = (sorted: number[], p: number) => (sorted.length ? percentile(sorted, p, 1) : null);
  // Throughput over the time it really took: a server that falls behind finishes after the step.
  const perSecond = (n: number, last: number) =>
    Math.round(n / (Math.max(stepSeconds * 1000, last - start) / 1000));
  const result = {
    offered_per_s: rate,
    sent: entries.length,
    acked: acked.length,
    ack_errors: entries.filter((s) => s.ackError).length,
    unacked: entries.filter((s) => !s.ackedAt).length,
    acked_per_s: perSecond(acked.length, lastAck),
    delivered_per_s: perSecond(deliveryTimes.length, lastDelivery),
    ack_p50_ms: pct(ackTimes, 50),
    ack_p99_ms: pct(ackTimes, 99),
    ack_max_ms: ackTimes.length ? Number(ackTimes.at(-1)!.toFixed(1)) : null,
    delivery_p50_ms: pct(deliveryTimes, 50),
    delivery_p99_ms: pct(deliveryTimes, 99),
    deliveries: deliveryTimes.length,
    deliveries_expected: acked.length * groupSize,
    cross_process_share: deliveryTimes.length
      ? Number((cross / deliveryTimes.length).toFixed(2))
      : 0,
    losses,
    duplicates,
    loadgen_loop_delay_p99_ms: Number((loop.percentile(99) / 1e6).toFixed(1)),
    cpu_cores: cpu,
  };
  return {
    ...result,
    clean:
      result.acked === result.sent &&
      losses === 0 &&
      duplicates === 0 &&
      (result.ack_p99_ms ?? Infinity) < CLEAN_P99_MS &&
      (result.delivery_p99_ms ?? Infinity) < CLEAN_P99_MS,
  };
}

const ms = (v: number | null) => (v === null ? '-' : String(v));
function formatRow(s: StepResult): string {
  const c = s.cpu_cores;
  return [
    String(s.offered_per_s).padStart(7),
    String(s.acked_per_s).padStart(8),
    String(s.delivered_per_s).padStart(9),
    `${ms(s.ack_p50_ms)}/${ms(s.ack_p99_ms)}`.padStart(15),
    `${ms(s.delivery_p50_ms)}/${ms(s.delivery_p99_ms)}`.padStart(15),
    String(s.losses + s.unacked + s.ack_errors).padStart(6),
    String(s.duplicates).padStart(5),
    `${c.servers.join('+')} ${c.postgres} ${c.redis ?? '-'} ${c.loadgen} ${c.others} ${c.iowait}`.padStart(
      36,
    ),
    s.clean ? ' clean' : '',
    // Other work on the machine took cores from this step: read it with care.
    c.others > 0.25 ? ' (busy machine)' : '',
  ].join(' ');
}

const HEADER = [
  'offered',
  ' acked/s',
  'deliver/s',
  'ack p50/p99 ms',
  'dlv p50/p99 ms',
  ' lost',
  ' dup',
  'cores: server(s) pg redis gen other iowait'.padStart(36),
].join(' ');

const startedAt = new Date().toISOString();
const loadAtStart = loadavg().map((l) => Number(l.toFixed(2)));
const configs: ConfigResult[] = [];
const plan: boolean[] =
  redisMode === 'both' ? [false, true] : redisMode === 'off' ? [false] : [true];
for (const withRedis of plan) configs.push(await runConfig(nodeCount, withRedis));

console.log(`\n${userCount} users in groups of ${groupSize}, ${stepSeconds} s a step, open loop`);
for (const c of configs) {
  console.log(
    `\n${c.label}: max clean rate ${c.max_clean_rate ?? 'none'}/s` +
      (c.stopped_early ? ` (${c.stopped_early})` : ''),
  );
  console.log(HEADER);
  for (const s of c.steps) console.log(formatRow(s));
}
console.log(
  JSON.stringify({
    bench: 'cluster',
    started_at: startedAt,
    cores: cpus().length,
    loadavg_at_start: loadAtStart,
    users: userCount,
    group_size: groupSize,
    step_seconds: stepSeconds,
    delivery_deadline_ms: DELIVERY_DEADLINE_MS,
    clean_p99_ms: CLEAN_P99_MS,
    configs,
  }),
);
