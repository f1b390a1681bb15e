import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { User, UserParams, UserSearchQuery, UserSearchResponse } from '@parley/protocol';
import type { Services } from '../services/index.js';
import { currentUser, requireUser } from './auth-hook.js';
import { errorResponses } from './schemas.js';

export const userRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (
  app,
  { services },
) => {
  app.addHook('onRequest', requireUser(services.auth));

  app.get(
    '/users/search',
    {
      schema: {
        summary: 'Users whose username or display name starts with q (any case)',
        querystring: UserSearchQuery,
        response: { 200: UserSearchResponse, ...errorResponses },
      },
    },
    async (request) => ({
      users: await services.users.search(request.query.q, currentUser(request).id),
    }),
  );

  app.get(
    '/users/:userId',
    {
      schema: {
        summary: 'One user',
        params: UserParams,
        response: { 200: User, ...errorResponses },
      },
    },
    async (request) => services.users.get(request.params.userId),
  );
};
