import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorResponse } from '@parley/protocol';
import type { Database } from '../db/database.js';
import { AppError } from '../errors.js';

export const healthRoutes: FastifyPluginAsyncZod<{
  database: Database;
  /** Whether Redis answers; undefined when there is none (one process). */
  redisStatus: () => 'up' | 'down' | undefined;
}> = async (app, { database, redisStatus }) => {
  app.get(
    '/health',
    {
      schema: {
        summary:
          'Liveness, and whether the database answers and can write (no auth); with REDIS_URL, ' +
          'whether Redis answers (a Redis outage leaves the status ok: acks need PostgreSQL only)',
        response: {
          200: z.object({ status: z.literal('ok'), redis: z.enum(['up', 'down']).optional() }),
          503: ErrorResponse,
        },
      },
    },
    async (request) => {
      // The ping has its own 2 s budget; on the embedded database it also fails while DATA_DIR
      // is read-only or short of space, since every write would then be refused.
      try {
        await database.ping();
      } catch (err) {
        request.log.warn({ err }, 'health check: database unavailable');
        throw new AppError('unavailable', 'the database is unavailable');
      }
      const redis = redisStatus();
      return redis ? { status: 'ok' as const, redis } : { status: 'ok' as const };
    },
  );
};
