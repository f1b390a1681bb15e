import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createApp, createLogger, type ParleyApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './nodes.js';

export interface TestServer {
  url: string;
  /** The first node: the only one, unless the run gives REDIS_URL. */
  app: ParleyApp;
  /** Every node, `app` first; `nodeUrls[i]` reaches `nodes[i]` alone. */
  nodes: ParleyApp[];
  nodeUrls: string[];
  config: Config;
  close(): Promise<void>;
}

/** Settings for tests: rate limits off (the limiters' own tests turn them on), quiet logs. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({
    port: 0,
    host: '127.0.0.1',
    databaseUrl: undefined,
    dataDir: 'memory://',
    redisUrl: undefined,
    redisPrefix: `parley-test-${randomBytes(4).toString('hex')}:`,
    jwtSecret: randomBytes(32).toString('hex'),
    jwtTtlSeconds: 3600,
    corsOrigins: [],
    messageEditWindow: 0,
    rateLimitAuth: 0,
    rateLimitMessages: 0,
    rateLimitEvents: 0,
    rateLimitChats: 0,
    maxSocketsPerUser: 1000,
    trustProxy: 0,
    logLevel: 'silent' as const,
    typingTimeoutMs: 5000,
    presenceGraceMs: 1000,
    maxConnections: 20_000,
    checkpointIntervalMs: 60_000,
    webDist: '/nonexistent',
    metricsToken: undefined,
    production: false,
    stunUrls: [],
    turnUrls: [],
    turnSecret: undefined,
    callRingTimeoutMs: 30_000,
    maxUploadBytes: 26_214_400,
    // Made when the first upload needs it; startServer removes it when the server closes.
    uploadsDir: path.join(tmpdir(), `parley-test-uploads-${randomBytes(6).toString('hex')}`),
    ...overrides,
  });
}

/**
 * A fresh database for one server: a new PostgreSQL database when DATABASE_URL is set (dropped
 * by the returned function), otherwise PGlite in memory.
 */
export async function freshDatabase(): Promise<{
  databaseUrl: string | undefined;
  drop: () => Promise<void>;
}> {
  const base = process.env.DATABASE_URL;
  if (!base) return { databaseUrl: undefined, drop: () => Promise.resolve() };
  const name = `parley_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    databaseUrl: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** How many nodes a server has when the run gives a Redis (REDIS_URL) and nothing says otherwise. */
// Two: every cross-process path (an event, a room move, a call, an upload resumed elsewhere) is
// between two processes; a third added CPU to CI's PostgreSQL pass and no path of its own.
export const NODES_WITH_REDIS = 2;

export interface ServerOptions {
  /**
   * Nodes behind one URL. Defaults to NODES_WITH_REDIS when REDIS_URL is set and the server is on
   * PostgreSQL (CI's PostgreSQL pass), else 1. A test about one process's internals asks for 1.
   */
  nodes?: number;
}

/**
 * The real server, in process, on port 0, on its own fresh database.
 *
 * When the run gives REDIS_URL (and the server is on PostgreSQL), the server is several nodes on
 * that one database and Redis (its own key prefix), behind a round-robin TCP proxy: every test
 * then checks that processes which share PostgreSQL and Redis act as one server. `app` is the
 * first node, `nodes` all of them.
 */
export async function startServer(
  overrides: Partial<Config> = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  const { databaseUrl, drop } =
    overrides.dataDir && overrides.dataDir !== 'memory://'
      ? { databaseUrl: undefined, drop: () => Promise.resolve() }
      : await freshDatabase();
  let config = testConfig({ databaseUrl, ...overrides });
  // Redis is the run's to give when the test asked for none, and the key prefix then this
  // helper's: fresh with a fresh database, so that servers never share keys by accident; the same
  // for a database the test brought, so that a server restarted on it finds its Redis state again,
  // as a deployment restarted on its PostgreSQL and Redis does.
  const runRedis = process.env.REDIS_URL;
  if (runRedis && !config.redisUrl && config.databaseUrl) {
    const redisPrefix = overrides.databaseUrl
      ? `parley-test-${createHash('sha256').update(overrides.databaseUrl).digest('hex').slice(0, 8)}:`
      : testConfig().redisPrefix;
    config = testConfig({ ...config, redisUrl: runRedis, redisPrefix });
  }
  const count = options.nodes ?? (config.redisUrl ? NODES_WITH_REDIS : 1);
  if (count > 1 && !config.redisUrl) throw new Error('several nodes need a Redis (REDIS_URL)');

  const log = createLogger(config.logLevel);
  const nodes: ParleyApp[] = [];
  let proxy: RoundRobinProxy | undefined;
  // Nodes first, as a deployment stops: their clients see a server's shutdown, not a cut cable.
  const closeAll = async () => {
    await Promise.all(nodes.map((node) => node.close()));
    await proxy?.close();
    await drop();
    if (!overrides.uploadsDir) await rm(config.uploadsDir, { recursive: true, force: true });
  };
  const startNode = async () => {
    const node = await createApp(config, log);
    nodes.push(node);
    return { node, url: await node.listen() };
  };
  try {
    // The first node migrates the fresh database; the others then start together.
    const first = await startNode();
    // Settled, not all(): a failure must not leave a node starting behind closeAll()'s back.
    const settled = await Promise.allSettled(Array.from({ length: count - 1 }, startNode));
    const others = settled.map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    });
    const started = [first, ...others];
    const nodeUrls = started.map((s) => s.url);
    const served = { app: first.node, nodes: started.map((s) => s.node), nodeUrls, config };
    if (count === 1) return { ...served, url: first.url, close: closeAll };
    proxy = await startRoundRobinProxy(
      nodeUrls.map((u) => ({ host: new URL(u).hostname, port: Number(new URL(u).port) })),
    );
    return { ...served, url: proxy.url, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
