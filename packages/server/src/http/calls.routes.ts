import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { IceServersResponse } from '@parley/protocol';
import type { Services } from '../services/index.js';
import { currentUser, requireUser } from './auth-hook.js';
import { errorResponses } from './schemas.js';

export const callRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (
  app,
  { services },
) => {
  app.addHook('onRequest', requireUser(services.auth));

  app.get(
    '/calls/ice-servers',
    {
      schema: {
        summary:
          "ICE servers for RTCPeerConnection: STUN_URLS, and TURN_URLS with the caller's own TURN REST credentials, valid for a day",
        response: { 200: IceServersResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      // A credential of the caller's own: no cache keeps it for anyone else.
      void reply.header('cache-control', 'no-store');
      return { iceServers: services.ice.forUser(currentUser(request).id) };
    },
  );
};
