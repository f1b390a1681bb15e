import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { HTTP_STATUS } from '@parley/protocol';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database, QueryObserver } from './db/database.js';
import type { ParleyServer } from './realtime/types.js';
import type { GroupCommitStats } from './repositories/messages.repository.js';

/** Seconds: from half a millisecond (an ack on a quiet server) to 10 s (past every timeout). */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * What an operator watches (GET /metrics, Prometheus text format): events and their ack latency,
 * deliveries, sockets, database time and pool waits, errors by code, and Node's own figures
 * (event-loop lag among them). One registry per app, so that servers sharing a process (tests)
 * count apart; Node's figures are the process's (see processRegistry).
 */
export class Metrics {
  readonly registry = new Registry();

  /** Every client event from its arrival to its ack; `message:send`'s is the send's ack latency. */
  readonly events = new Histogram({
    name: 'parley_socket_event_seconds',
    help: 'Client socket events from arrival to acknowledgement, by event and outcome (ok or an error code)',
    labelNames: ['event', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'parley_deliveries_total',
    help: "Server events written to this process's sockets, by event (message:new counts each recipient once)",
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: 'parley_errors_total',
    help: 'Refusals and failures answered, by error code and by way (http or socket)',
    labelNames: ['code', 'via'] as const,
    registers: [this.registry],
  });

  readonly queries = new Histogram({
    name: 'parley_db_query_seconds',
    help: 'Database statements, by outcome (ok or error)',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** What the database reports of each statement (DatabaseOptions.onQuery). */
  readonly observeQuery: QueryObserver = (seconds, failed) =>
    this.queries.observe({ outcome: failed ? 'error' : 'ok' }, seconds);

  /** Group commit: how many plain sends each flush wrote (one statement for them all). */
  readonly sendBatches = new Histogram({
    name: 'parley_send_batch_size',
    help: 'Plain sends (no reply, no attachments) written per group-commit flush: those that arrived while the previous flush ran',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });

  /** Stored sends by statement: `batch`, a flush's one statement; `alone`, one of their own. */
  readonly sendsStored = new Counter({
    name: 'parley_sends_stored_total',
    help: "Messages stored, by the statement that wrote them: a group-commit flush's one statement (batch) or their own (alone)",
    labelNames: ['by'] as const,
    registers: [this.registry],
  });

  /** Group commit: how many read marks each flush made (one statement for them all). */
  readonly readBatches = new Histogram({
    name: 'parley_read_batch_size',
    help: 'Read marks (message:read) made per group-commit flush: those that arrived while the previous flush ran',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });

  /** What the messages repository reports of group commit. */
  readonly groupCommitStats: GroupCommitStats = {
    flushed: (sends) => this.sendBatches.observe(sends),
    stored: (by, count) => this.sendsStored.inc({ by }, count),
    readsFlushed: (reads) => this.readBatches.observe(reads),
  };

  /** The scrape: this app's figures and the process's. */
  async text(): Promise<{ contentType: string; body: string }> {
    const both = Registry.merge([processRegistry(), this.registry]);
    return { contentType: both.contentType, body: await both.metrics() };
  }

  /** The figures read when scraped: sockets and, on PostgreSQL, the pool. */
  observe(io: ParleyServer, database: Database): void {
    new Gauge({
      name: 'parley_connected_sockets',
      help: 'Sockets connected to this process',
      registers: [this.registry],
      collect() {
        this.set(io.engine.clientsCount);
      },
    });
    const pool = database.poolStats;
    if (!pool) return;
    new Gauge({
      name: 'parley_db_pool_connections',
      help: 'PostgreSQL pool: connections by state (idle, busy), and requests waiting for one (waiting)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const s = pool();
        this.set({ state: 'idle' }, s.idle);
        this.set({ state: 'busy' }, s.total - s.idle);
        this.set({ state: 'waiting' }, s.waiting);
      },
    });
  }

  /** An HTTP answer of 400 and above, counted by the contract's code for its status. */
  countHttpError(status: number): void {
    this.errors.inc({ code: CODE_OF_STATUS.get(status) ?? `http_${status}`, via: 'http' });
  }

  /** For `socket.onAnyOutgoing`: one function shared by every socket, no closure each. */
  readonly countDelivery = (event: string): void => {
    let counter = this.deliveryCounters.get(event);
    if (!counter) this.deliveryCounters.set(event, (counter = this.deliveries.labels({ event })));
    counter.inc();
  };

  /** Each event's labelled counter, looked up once: a delivery is the hottest path counted. */
  private readonly deliveryCounters = new Map<string, { inc(): void }>();
}

/**
 * Node's own figures (event-loop lag, GC, heap) belong to the process: collected once, into a
 * registry of their own, however many apps the process holds. Their observers live as long as
 * the process, so collecting them into an app's registry kept every closed app (and its server,
 * through the socket gauge) reachable, in tests that start many servers in one process.
 */
let processMetrics: Registry | undefined;
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics, prefix: 'parley_' });
  }
  return processMetrics;
}

const CODE_OF_STATUS = new Map(Object.entries(HTTP_STATUS).map(([code, status]) => [status, code]));

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;
/** Headers a proxy adds: a request that carries one came from elsewhere, whatever TRUST_PROXY says. */
const RELAYED = ['x-forwarded-for', 'forwarded', 'x-real-ip'];

/**
 * GET /metrics, outside /api. Not for the world: with METRICS_TOKEN it asks for
 * `Authorization: Bearer <METRICS_TOKEN>`; without, it answers loopback clients only, and never a
 * request a proxy relayed (one on the same machine connects from loopback: its forwarding headers
 * give it away, even with TRUST_PROXY=0). Anyone else gets the 404 of a route that does not exist.
 */
export function metricsRoute(http: FastifyInstance, metrics: Metrics, token: string | undefined) {
  const expected = token === undefined ? undefined : Buffer.from(`Bearer ${token}`);
  http.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    const allowed = expected
      ? sameBytes(Buffer.from(request.headers.authorization ?? ''), expected)
      : LOOPBACK.test(request.ip) && !RELAYED.some((h) => h in request.headers);
    if (!allowed) {
      return reply
        .status(404)
        .send({ error: { code: 'not_found', message: 'Route GET:/metrics not found' } });
    }
    const { contentType, body } = await metrics.text();
    return reply.type(contentType).send(body);
  });
}

const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
