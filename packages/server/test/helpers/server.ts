import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createApp, createLogger, type ParleyApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';

export interface TestServer {
  url: string;
  app: ParleyApp;
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
    production: false,
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

/** The real server, in process, on port 0, on its own fresh database. */
export async function startServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  const { databaseUrl, drop } =
    overrides.dataDir && overrides.dataDir !== 'memory://'
      ? { databaseUrl: undefined, drop: () => Promise.resolve() }
      : await freshDatabase();
  const config = testConfig({ databaseUrl, ...overrides });
  const app = await createApp(config, createLogger(config.logLevel));
  let url: string;
  try {
    url = await app.listen();
  } catch (err) {
    await app.close();
    await drop();
    throw err;
  }
  return {
    url,
    app,
    config,
    close: async () => {
      await app.close();
      await drop();
    },
  };
}
