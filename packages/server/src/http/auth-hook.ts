import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService, Session } from '../services/auth.service.js';
import type { Account } from '../services/models.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user; set by `requireUser` on every route that needs one. */
    user: Account | null;
  }
}

/** The token each authenticated request came with, for the few routes that name it (sign out). */
const sessions = new WeakMap<FastifyRequest, Session>();

/** An onRequest hook (so 401 comes before any body or validation error) for routes that take `Authorization: Bearer <token>`. */
export const requireUser =
  (auth: AuthService) =>
  async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const session = await auth.session(token);
    sessions.set(request, session);
    request.user = session.user;
  };

/** For handlers behind `requireUser`: the user, which the hook guarantees. */
export function currentUser(request: FastifyRequest): Account {
  if (!request.user) throw new Error('route is missing the requireUser hook');
  return request.user;
}

/** For handlers behind `requireUser`: the user and the token they came with. */
export function currentSession(request: FastifyRequest): Session {
  const session = sessions.get(request);
  if (!session) throw new Error('route is missing the requireUser hook');
  return session;
}
