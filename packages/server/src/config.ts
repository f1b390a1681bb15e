import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { fsReason } from './errors.js';

/** Parsed once at boot; everything else reads this frozen object, never process.env. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  /** Prefix of every Redis key, stream and channel: deployments (or test runs) sharing a Redis. */
  readonly redisPrefix: string;
  readonly jwtSecret: string;
  readonly jwtTtlSeconds: number;
  readonly corsOrigins: readonly string[];
  /** Seconds after sending during which the sender may edit; 0 is no limit. */
  readonly messageEditWindow: number;
  readonly rateLimitAuth: number;
  readonly rateLimitMessages: number;
  /** Client events of any kind per socket per 10 seconds; 0 turns the limit off. */
  readonly rateLimitEvents: number;
  /** Chats a user may create per hour; 0 turns the limit off. */
  readonly rateLimitChats: number;
  /** A user's sockets at once, all processes together. */
  readonly maxSocketsPerUser: number;
  /** How many reverse proxies stand in front (their X-Forwarded-For names the client). */
  readonly trustProxy: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly typingTimeoutMs: number;
  /** How long a user whose last socket closed still shows online (a reload does not flap). */
  readonly presenceGraceMs: number;
  /** Open TCP connections at once (HTTP and websockets); one more is closed at once. */
  readonly maxConnections: number;
  readonly checkpointIntervalMs: number;
  readonly webDist: string | undefined;
  /** GET /metrics asks for this bearer token; unset, it answers loopback clients only. */
  readonly metricsToken: string | undefined;
  readonly production: boolean;
  /** ICE servers handed to calling clients (STUN_URLS, TURN_URLS). */
  readonly stunUrls: readonly string[];
  readonly turnUrls: readonly string[];
  /** The TURN server's REST credentials secret (coturn's static-auth-secret). */
  readonly turnSecret: string | undefined;
  /** How long a call rings before it is missed (CALL_RING_TIMEOUT, in seconds, here in ms). */
  readonly callRingTimeoutMs: number;
  /** MAX_UPLOAD_BYTES: the largest attachment. */
  readonly maxUploadBytes: number;
  /** Where uploaded files live: DATA_DIR/uploads, shared by every process. */
  readonly uploadsDir: string;
}

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** A comma-separated list of ICE server URLs of the given schemes (RFC 7064, RFC 7065). */
const iceUrls = (schemes: readonly string[]) =>
  z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .refine(
      (urls) => urls.every((u) => schemes.some((s) => u.startsWith(`${s}:`)) && !/\s/.test(u)),
      `must be comma-separated ${schemes.map((s) => `${s}:`).join(' or ')} URLs`,
    );

const Env = z.object({
  NODE_ENV: z.string().optional(),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  // Never echoed back in a message: the URL may carry a password.
  REDIS_URL: z
    .string()
    .refine((u) => /^rediss?:\/\//.test(u) && URL.canParse(u), 'must be a valid redis:// URL')
    .optional(),
  /** Deployments (or test runs) sharing one Redis keep apart by this prefix. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[\w.:-]{1,64}$/, 'must be 1 to 64 of a-z A-Z 0-9 _ . : -')
    .default('parley:'),
  JWT_SECRET: z
    .string()
    .refine((s) => Buffer.byteLength(s) >= 32, 'must be at least 32 bytes')
    .optional(),
  JWT_TTL: int(1, 10 * 365 * 24 * 3600).default(604_800),
  CORS_ORIGINS: z.string().default(''),
  MESSAGE_EDIT_WINDOW: int(0, 10 * 365 * 24 * 3600).default(0),
  RATE_LIMIT_AUTH: int(0, 1_000_000).default(30),
  RATE_LIMIT_MESSAGES: int(0, 1_000_000).default(100),
  RATE_LIMIT_EVENTS: int(0, 1_000_000).default(300),
  RATE_LIMIT_CHATS: int(0, 1_000_000).default(60),
  MAX_SOCKETS_PER_USER: int(1, 100_000).default(20),
  TRUST_PROXY: int(0, 100).default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long a typing:start lasts without a repeat (the contract says about 5 s). */
  TYPING_TIMEOUT_MS: int(100, 600_000).default(5000),
  /** A reconnect within this shows nothing to contacts; longer delays every "offline". */
  PRESENCE_GRACE_MS: int(0, 60_000).default(1000),
  /** The server's whole connection budget: keep it under the process's file descriptor limit. */
  MAX_CONNECTIONS: int(1, 10_000_000).default(20_000),
  /** PGlite never checkpoints by itself; without this its WAL grows without bound. */
  CHECKPOINT_INTERVAL_MS: int(1000, 86_400_000).default(60_000),
  /** The built web client to serve at `/`; unset serves the repository's packages/web/dist. */
  WEB_DIST: z.string().optional(),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  STUN_URLS: iceUrls(['stun', 'stuns']).default([]),
  TURN_URLS: iceUrls(['turn', 'turns']).default([]),
  TURN_SECRET: z.string().optional(),
  CALL_RING_TIMEOUT: int(1, 3600).default(30),
  /** Sizes are stored as PostgreSQL integers: 2 GiB less a byte at most. */
  MAX_UPLOAD_BYTES: int(1, 2 ** 31 - 1).default(26_214_400),
});

export class ConfigError extends Error {}

/** Reads the environment (variables named in shared/contract.md) and fails fast, naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as a shell's `VAR=` usually means.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = Env.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.REDIS_URL && !e.DATABASE_URL) {
    throw new ConfigError(
      'REDIS_URL needs DATABASE_URL: processes that act as one share a PostgreSQL database, and ' +
        'the embedded database belongs to one process (unset REDIS_URL to run one)',
    );
  }
  if (e.TURN_URLS.length > 0 && !e.TURN_SECRET) {
    throw new ConfigError(
      "TURN_URLS needs TURN_SECRET: clients get the TURN server's REST credentials, made with " +
        "the secret it was started with (coturn's static-auth-secret)",
    );
  }
  const production = e.NODE_ENV === 'production';
  const dataDir = path.resolve(e.DATA_DIR);
  let jwtSecret = e.JWT_SECRET;
  if (!jwtSecret) {
    if (production) throw new ConfigError('JWT_SECRET is required when NODE_ENV=production');
    jwtSecret = readOrCreateSecret(dataDir);
  }
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    jwtSecret,
    jwtTtlSeconds: e.JWT_TTL,
    corsOrigins: Object.freeze(
      e.CORS_ORIGINS.split(',')
        .map((o) => o.trim().replace(/\/+$/, ''))
        .filter(Boolean),
    ),
    messageEditWindow: e.MESSAGE_EDIT_WINDOW,
    rateLimitAuth: e.RATE_LIMIT_AUTH,
    rateLimitMessages: e.RATE_LIMIT_MESSAGES,
    rateLimitEvents: e.RATE_LIMIT_EVENTS,
    rateLimitChats: e.RATE_LIMIT_CHATS,
    maxSocketsPerUser: e.MAX_SOCKETS_PER_USER,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    typingTimeoutMs: e.TYPING_TIMEOUT_MS,
    presenceGraceMs: e.PRESENCE_GRACE_MS,
    maxConnections: e.MAX_CONNECTIONS,
    checkpointIntervalMs: e.CHECKPOINT_INTERVAL_MS,
    webDist: e.WEB_DIST,
    metricsToken: e.METRICS_TOKEN,
    production,
    stunUrls: Object.freeze(e.STUN_URLS),
    turnUrls: Object.freeze(e.TURN_URLS),
    turnSecret: e.TURN_SECRET,
    callRingTimeoutMs: e.CALL_RING_TIMEOUT * 1000,
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    uploadsDir: path.join(dataDir, 'uploads'),
  });
}

/** Outside production a missing JWT_SECRET is generated once and kept, so tokens survive restarts. */
function readOrCreateSecret(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  // Written whole under a temporary name, then linked into place: a second process starting at
  // the same moment either links first or reads a complete file, never an empty one. A secret
  // kept already is read without writing anything (DATA_DIR may be read-only by now).
  const draft = `${file}.${process.pid}.tmp`;
  if (!existsSync(file)) {
    try {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(draft, randomBytes(48).toString('base64url') + '\n', { mode: 0o600 });
      try {
        linkSync(draft, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        rmSync(draft, { force: true });
      }
    } catch (err) {
      throw new ConfigError(`cannot write DATA_DIR ${dataDir}: ${fsReason(err)}`);
    }
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (Buffer.byteLength(secret) < 32) {
    throw new ConfigError(
      `${file} holds no usable secret (under 32 bytes): remove it or set JWT_SECRET`,
    );
  }
  return secret;
}
