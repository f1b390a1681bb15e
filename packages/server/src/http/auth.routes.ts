import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AuthResponse, LoginRequest, MeResponse, RegisterRequest } from '@parley/protocol';
import type { Services } from '../services/index.js';
import { currentUser, requireUser } from './auth-hook.js';
import { errorResponses } from './schemas.js';

export const authRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (
  app,
  { services },
) => {
  const limitByIp = async (request: { ip: string }) => services.authLimiter.consume(request.ip);

  app.post(
    '/auth/register',
    {
      schema: {
        summary: 'Create an account (no auth)',
        body: RegisterRequest,
        response: { 201: AuthResponse, ...errorResponses },
      },
      onRequest: limitByIp,
    },
    async (request, reply) => reply.status(201).send(await services.auth.register(request.body)),
  );

  app.post(
    '/auth/login',
    {
      schema: {
        summary: 'Sign in by username or email (no auth)',
        body: LoginRequest,
        response: { 200: AuthResponse, ...errorResponses },
      },
      onRequest: limitByIp,
    },
    async (request) => services.auth.login(request.body),
  );

  app.get(
    '/auth/me',
    {
      schema: { summary: 'The signed-in user', response: { 200: MeResponse, ...errorResponses } },
      onRequest: requireUser(services.auth),
    },
    async (request) => ({ user: await services.users.me(currentUser(request)) }),
  );
};
