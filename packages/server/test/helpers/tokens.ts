import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

/**
 * An HS256 token for `sub`, signed with `secret`, expiring at `exp` (seconds since the epoch;
 * an hour from now by default). Tests forge expired, foreign-key and orphaned tokens with it.
 */
export function signToken(
  secret: string,
  sub: string,
  exp = Math.floor(Date.now() / 1000) + 3600,
): Promise<string> {
  return new SignJWT({ ver: 0 })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setJti(randomUUID())
    .setIssuedAt(Math.min(exp, Math.floor(Date.now() / 1000)) - 60)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}
