import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimited } from '../errors.js';
import type { FailureLimiter } from '../services/ports.js';
import { RedisTimeoutError, withDeadline, type RedisClient } from './client.js';

/**
 * `points` attempts per `durationSeconds` per key, counted in Redis for every process together
 * (rate-limiter-flexible's atomic INCR script), under `<prefix>rl:<name>:`. While Redis cannot
 * answer, each process counts on its own in memory (the insurance limiter): limits stay on,
 * per process, and nobody is refused for an outage.
 */
export function redisLimiter(
  client: RedisClient,
  prefix: string,
  name: string,
  points: number,
  durationSeconds: number,
  callTimeoutMs: number,
): FailureLimiter {
  if (points === 0) return { consume: () => Promise.resolve(), refund: () => Promise.resolve() };
  const insurance = new RateLimiterMemory({ points, duration: durationSeconds });
  const limiter = new RateLimiterRedis({
    storeClient: client,
    useRedisPackage: true, // node-redis v4+: eval(script, { keys, arguments })
    rejectIfRedisNotReady: true,
    keyPrefix: `${prefix}rl:${name}`,
    points,
    duration: durationSeconds,
    insuranceLimiter: insurance,
  });
  // The library falls back to the insurance on a Redis error, but not on a Redis that hangs.
  const insured = async (
    inRedis: () => Promise<RateLimiterRes>,
    inMemory: () => Promise<RateLimiterRes>,
  ): Promise<void> => {
    try {
      await withDeadline(inRedis(), callTimeoutMs).catch((err: unknown) => {
        if (err instanceof RedisTimeoutError) return inMemory();
        throw err;
      });
    } catch (err) {
      if (err instanceof RateLimiterRes) throw rateLimited(Math.ceil(err.msBeforeNext / 1000));
      throw err;
    }
  };
  return {
    consume: (key) =>
      insured(
        () => limiter.consume(key),
        () => insurance.consume(key),
      ),
    refund: (key) =>
      insured(
        () => limiter.reward(key, 1),
        () => insurance.reward(key, 1),
      ),
  };
}
