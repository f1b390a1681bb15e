import type { Logger } from 'pino';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
  type createClient,
} from 'redis';
import { AppError } from '../errors.js';

/** A node-redis client as `createClient` makes it (modules and all). */
export type RedisClient = ReturnType<typeof createClient>;

/**
 * Runs a Lua script, sent whole each time (EVAL, not EVALSHA): Redis caches the compiled script
 * anyway, and a NOSCRIPT retry after a Redis restart would send the retried call behind later
 * ones, while presence relies on the calls of one process reaching Redis in the order made.
 */
export async function runScript<T>(
  client: RedisClient,
  script: string,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<T> {
  return (await client.eval(script, { keys: [...keys], arguments: args.map(String) })) as T;
}

/** Raised when Redis holds a call longer than we wait (a frozen server does not drop the connection). */
export class RedisTimeoutError extends Error {
  override readonly name = 'RedisTimeoutError';
}

/**
 * The answer of `work`, or a RedisTimeoutError after `ms`: a Redis that stops answering without
 * closing the connection (paused, swapping, a network that drops packets) must not hold a
 * handshake or an event handler for as long as TCP takes to notice.
 */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new RedisTimeoutError(`Redis did not answer within ${ms} ms`)),
      ms,
    );
    timer.unref();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

type SendCommand = (args: readonly unknown[], options?: unknown) => Promise<unknown>;

/** Whether a client's commands are failed at once because Redis stopped answering them. */
export interface Stall {
  readonly stalled: boolean;
  /** A new connection: whatever held the old one is gone. */
  reset(): void;
}

/**
 * Bounds every command of `client` by `ms` (every command goes through `sendCommand` but MULTI
 * blocks, pub/sub and the connection's own handshake). A Redis that is frozen (SIGSTOP, a network
 * that drops packets) keeps the connection open and never answers, and node-redis's own command
 * timeout stops counting once a command is written, so:
 * - a command unanswered after `ms` fails with a RedisTimeoutError;
 * - from then on the client is stalled: commands fail at once without being sent (nothing piles
 *   up in memory for as long as the freeze lasts), until one PING sent at the stall is answered
 *   (Redis answers in order: everything before it was too) or the connection is made anew;
 * - the answers, failures included, settle in the order the commands were made, so that a
 *   caller that awaits each (the Socket.IO adapter before local delivery) keeps its order even
 *   while later commands fail fast and earlier ones wait out their deadline.
 * `onStall` and `onResume` tell the outage tracker.
 */
export function boundCommands(
  client: RedisClient,
  ms: number,
  onStall: () => void,
  onResume: () => void,
): Stall {
  // `createClient` hands out an object whose prototype is the client itself (`_self`), where
  // every command ends in `this._self.sendCommand`: the bound goes there.
  const target = (client as unknown as { _self: { sendCommand: SendCommand } })._self;
  const send = target.sendCommand.bind(target);
  let stalled = false;
  let generation = 0;
  let tail: Promise<unknown> = Promise.resolve();

  const probe = (of: number) => {
    send(['PING']).then(
      () => {
        if (!stalled || of !== generation) return;
        stalled = false;
        onResume();
      },
      () => {
        // The connection went (its 'ready' resets us), or Redis refused a PING: ask again.
        if (stalled && of === generation && client.isReady) {
          setTimeout(() => probe(of), ms).unref();
        }
      },
    );
  };

  target.sendCommand = (args, options) => {
    const own = stalled
      ? Promise.reject(new RedisTimeoutError('Redis is not answering'))
      : withDeadline(send(args, options), ms).catch((err: unknown) => {
          if (err instanceof RedisTimeoutError && !stalled) {
            stalled = true;
            onStall();
            probe(generation);
          }
          throw err;
        });
    // Handled here, and answered to the caller through `settled` below: a failure that waits
    // behind an earlier command must not count as an unhandled rejection meanwhile.
    own.catch(() => undefined);
    const settled = tail.then(
      () => own,
      () => own,
    );
    tail = settled.catch(() => undefined);
    return settled;
  };

  return {
    get stalled() {
      return stalled;
    },
    reset() {
      generation++;
      stalled = false;
    },
  };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Whether an error says Redis cannot serve us now (down, restarting, frozen, failing over) rather
 * than that a call of ours is wrong: the retry-later kind, answered `unavailable`.
 */
export function isOutage(err: unknown): boolean {
  if (
    err instanceof RedisTimeoutError ||
    err instanceof ClientOfflineError ||
    err instanceof ClientClosedError ||
    err instanceof SocketClosedUnexpectedlyError ||
    err instanceof ConnectionTimeoutError ||
    err instanceof SocketTimeoutError ||
    err instanceof ReconnectStrategyError ||
    err instanceof TimeoutError
  ) {
    return true;
  }
  // A Redis that is loading its data after a restart, a replica being promoted, a script that
  // runs too long.
  if (err instanceof ErrorReply) {
    return /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN)\b/.test(err.message);
  }
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/**
 * What a caller hears of a failed call: an outage becomes `unavailable` (a client retries later;
 * the outage itself is logged once, by the connection), anything else stays as it is (a bug,
 * logged as `internal` by whoever answers).
 */
export function asAppError(err: unknown): unknown {
  if (!isOutage(err)) return err;
  return Object.assign(new AppError('unavailable', 'temporarily unavailable, try again'), {
    cause: err,
  });
}

/**
 * Warnings logged once per outage: a call that fails during one is told about once, not once
 * per call (the outage's own start and end are logged by the connection).
 */
export class OutageNotes {
  private readonly told = new Set<string>();

  constructor(private readonly log: Logger) {}

  warn(message: string, err: unknown): void {
    if (this.told.has(message)) return;
    this.told.add(message);
    this.log.warn({ err: reason(err) }, message);
  }

  /** Redis is back: the next outage is told about again. */
  reset(): void {
    this.told.clear();
  }
}

/** Lua: Redis's own clock in milliseconds, one clock for every process's deadlines. */
export const LUA_NOW = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** The message of whatever was thrown, for a log line (never the Redis URL: it may hold a password). */
export const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));
