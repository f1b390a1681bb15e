import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  AuthResponse,
  ChangePasswordRequest,
  DeleteAccountRequest,
  LoginRequest,
  MeResponse,
  RegisterRequest,
  TokenResponse,
  UpdateMeRequest,
} from '@parley/protocol';
import type { Services } from '../services/index.js';
import { currentSession, currentUser, requireUser } from './auth-hook.js';
import { errorResponses } from './schemas.js';

export const authRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (
  app,
  { services },
) => {
  const { auth } = services;
  const limitByIp = async (request: { ip: string }) => services.authLimiter.consume(request.ip);
  const signedIn = requireUser(auth);
  const noContent = { 204: z.null().describe('done'), ...errorResponses };

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
    async (request, reply) => reply.status(201).send(await auth.register(request.body)),
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
    async (request) => auth.login(request.body),
  );

  app.get(
    '/auth/me',
    {
      schema: { summary: 'The signed-in user', response: { 200: MeResponse, ...errorResponses } },
      onRequest: signedIn,
    },
    async (request) => ({ user: await services.users.me(currentUser(request)) }),
  );

  app.patch(
    '/auth/me',
    {
      schema: {
        summary: 'Change the display name',
        body: UpdateMeRequest,
        response: { 200: MeResponse, ...errorResponses },
      },
      onRequest: signedIn,
    },
    async (request) => ({
      user: await auth.updateMe(currentUser(request), request.body.displayName),
    }),
  );

  app.delete(
    '/auth/me',
    {
      schema: {
        summary: 'Delete the account (its messages stay, under its username)',
        body: DeleteAccountRequest,
        response: noContent,
      },
      onRequest: signedIn,
    },
    async (request, reply) => {
      await auth.deleteAccount(currentUser(request), request.body.password);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/password',
    {
      schema: {
        summary: 'Change the password: every earlier token ends; answers a fresh one',
        body: ChangePasswordRequest,
        response: { 200: TokenResponse, ...errorResponses },
      },
      onRequest: signedIn,
    },
    async (request) => ({ token: await auth.changePassword(currentUser(request), request.body) }),
  );

  app.post(
    '/auth/logout',
    { schema: { summary: 'Sign out this token', response: noContent }, onRequest: signedIn },
    async (request, reply) => {
      await auth.logout(currentSession(request));
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/logout-all',
    {
      schema: { summary: 'Sign out everywhere: every token ends', response: noContent },
      onRequest: signedIn,
    },
    async (request, reply) => {
      await auth.logoutAll(currentUser(request));
      return reply.status(204).send(null);
    },
  );
};
