import type { createClient } from 'redis';

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

/** Lua: Redis's own clock in milliseconds, one clock for every process's deadlines. */
export const LUA_NOW = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** The message of whatever was thrown, for a log line (never the Redis URL: it may hold a password). */
export const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));
