import type { FastifyReply, FastifyRequest } from 'fastify';
import type { UserRow } from '../db/schema.js';
import type { AuthService } from '../services/auth.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user; set by `requireUser` on every route that needs one. */
    user: UserRow | null;
  }
}

/** An onRequest hook (so 401 comes before any body or validation error) for routes that take `Authorization: Bearer <token>`. */
export const requireUser =
  (auth: AuthService) =>
  async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    request.user = await auth.authenticate(token);
  };

/** For handlers behind `requireUser`: the user, which the hook guarantees. */
export function currentUser(request: FastifyRequest): UserRow {
  if (!request.user) throw new Error('route is missing the requireUser hook');
  return request.user;
}
