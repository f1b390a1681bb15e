import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { SearchPage, SearchQuery } from '@parley/protocol';
import type { Services } from '../services/index.js';
import { currentUser, requireUser } from './auth-hook.js';
import { errorResponses } from './schemas.js';

export const searchRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (
  app,
  { services },
) => {
  app.addHook('onRequest', requireUser(services.auth));

  app.get(
    '/search/messages',
    {
      schema: {
        summary:
          "Messages of the caller's chats holding every word of q (word prefixes, any case, accents ignored; substrings in scripts without spaces), newest first",
        querystring: SearchQuery,
        response: { 200: SearchPage, ...errorResponses },
      },
    },
    async (request) => services.search.messages(currentUser(request).id, request.query),
  );
};
