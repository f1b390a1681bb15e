import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorResponse } from '@parley/protocol';
import type { Database } from '../db/database.js';
import { AppError } from '../errors.js';

export const healthRoutes: FastifyPluginAsyncZod<{ database: Database }> = async (
  app,
  { database },
) => {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness and database reachability (no auth)',
        response: { 200: z.object({ status: z.literal('ok') }), 503: ErrorResponse },
      },
    },
    async (request) => {
      try {
        await database.ping();
      } catch (err) {
        request.log.warn({ err }, 'health check: database unreachable');
        throw new AppError('unavailable', 'the database is unreachable');
      }
      return { status: 'ok' as const };
    },
  );
};
