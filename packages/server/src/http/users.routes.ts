import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  BlockedUsersResponse,
  Me,
  User,
  UserParams,
  UserSearchQuery,
  UserSearchResponse,
} from '@parley/protocol';
import { z } from 'zod';
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
    '/users/blocked',
    {
      schema: {
        summary: 'The users the caller blocked, most recently blocked first',
        response: { 200: BlockedUsersResponse, ...errorResponses },
      },
    },
    async (request) => ({ users: await services.users.blocked(currentUser(request).id) }),
  );

  app.get(
    '/users/:userId',
    {
      schema: {
        summary:
          'One user (status and last_seen_at null unless they share a chat with the caller; the caller themself with email)',
        params: UserParams,
        // Me first: a user without `email` fails it and is answered as User.
        response: { 200: z.union([Me, User]), ...errorResponses },
      },
    },
    async (request) => services.users.get(request.params.userId, currentUser(request).id),
  );

  app.put(
    '/users/:userId/block',
    {
      schema: {
        summary:
          'Block a user: they can no longer open a direct chat with you or add you to groups',
        params: UserParams,
        response: { 204: z.null().describe('blocked'), ...errorResponses },
      },
    },
    async (request, reply) => {
      await services.users.block(currentUser(request).id, request.params.userId);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/users/:userId/block',
    {
      schema: {
        summary: 'Unblock a user',
        params: UserParams,
        response: { 204: z.null().describe('unblocked'), ...errorResponses },
      },
    },
    async (request, reply) => {
      await services.users.unblock(currentUser(request).id, request.params.userId);
      return reply.status(204).send(null);
    },
  );
};
