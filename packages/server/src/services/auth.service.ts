import { randomUUID, webcrypto } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type {
  AuthResponse,
  ChangePasswordRequest,
  LoginRequest,
  Me,
  RegisterRequest,
} from '@parley/protocol';
import { conflict, isUniqueViolation, unauthorized } from '../errors.js';
import type { TokensRepository } from '../repositories/tokens.repository.js';
import type { UsersRepository } from '../repositories/users.repository.js';
import { assertAcceptablePassword, hashPassword, verifyPassword } from './passwords.js';
import type { DomainEvents } from './events.js';
import type { Account } from './models.js';
import type { FailureLimiter } from './ports.js';
import type { UsersService } from './users.service.js';

/** The token a request or a socket came with, as `logout` needs it. */
export interface Session {
  user: Account;
  tokenId: string;
  expiresAt: Date;
}

const invalidToken = () => unauthorized('invalid or expired token');

export class AuthService {
  /**
   * The HMAC key, imported into WebCrypto once: given the raw bytes, jose imports them again for
   * every token it signs or verifies (a quarter of a millisecond each, on every request and
   * handshake).
   */
  private readonly key: Promise<webcrypto.CryptoKey>;
  /** Verified against when the user is unknown, so both failures take the same time. */
  private readonly decoyHash: Promise<string>;

  constructor(
    private readonly users: UsersRepository,
    private readonly tokens: TokensRepository,
    private readonly userViews: UsersService,
    private readonly events: DomainEvents,
    /** Failed password checks per account name (the per-IP limit sits in front of the routes). */
    private readonly passwordFailures: FailureLimiter,
    /**
     * Failed confirmations of a signed-in user's password (changing it, deleting the account), per
     * user, at RATE_LIMIT_AUTH a minute: no per-IP limit sits in front of those routes, and the
     * password is asked again exactly because the token may be someone else's.
     */
    private readonly confirmFailures: FailureLimiter,
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = webcrypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    this.decoyHash = hashPassword('parley-decoy-password');
  }

  async register(input: RegisterRequest): Promise<AuthResponse> {
    assertAcceptablePassword(input.password, input.username, 'password');
    let account: Account;
    try {
      account = await this.users.create({
        username: input.username,
        email: input.email ?? null,
        displayName: input.displayName ?? input.username,
        passwordHash: await hashPassword(input.password),
      });
    } catch (err) {
      // The username is public anyway; whether an email has an account is not ours to confirm.
      if (isUniqueViolation(err, 'users_username_lower_key')) throw conflict('username is taken');
      if (isUniqueViolation(err, 'users_email_lower_key')) {
        throw conflict('username or email is not available');
      }
      throw err;
    }
    return { token: await this.issue(account), user: await this.userViews.me(account) };
  }

  /**
   * One answer for an unknown user and a wrong password. Failures count per login name as
   * given, known or not, so the limit itself tells nothing about who exists.
   */
  async login(input: LoginRequest): Promise<AuthResponse> {
    const login = 'username' in input ? { username: input.username } : { email: input.email };
    const limitKey = ('username' in input ? input.username : input.email).toLowerCase();
    await this.passwordFailures.consume(limitKey);
    const found = await this.users.findByLogin(login);
    const ok = await verifyPassword(found?.passwordHash ?? (await this.decoyHash), input.password);
    if (!found || !ok) throw unauthorized('wrong username or password');
    await this.passwordFailures.refund(limitKey);
    const { account } = found;
    return { token: await this.issue(account), user: await this.userViews.me(account) };
  }

  /**
   * Refuses expired, malformed and wrongly signed tokens, and those whose user is gone or
   * deleted, whose version the user has moved past (password change, sign out everywhere), or
   * that were signed out one by one. One query: every request and handshake comes through here.
   */
  session(token: string | undefined): Promise<Session> {
    return this.verified(token, false);
  }

  /**
   * A socket's handshake: `session`, and the ids of the user's chats (its rooms) read in the same
   * statement, at the same `membershipVersion`.
   */
  handshake(token: string | undefined): Promise<Session & { chatIds: string[] }> {
    return this.verified(token, true);
  }

  private async verified(
    token: string | undefined,
    chats: boolean,
  ): Promise<Session & { chatIds: string[] }> {
    if (!token) throw unauthorized();
    let claims: { sub: string; exp: number; jti: string; ver: unknown };
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        algorithms: ['HS256'],
        // Tokens issued before revocation existed carry neither jti nor ver: upgrading signs
        // everyone out once (README), rather than keep tokens no sign-out could end.
        requiredClaims: ['exp', 'sub', 'jti', 'ver'],
      });
      claims = {
        sub: payload.sub ?? '',
        exp: payload.exp ?? 0,
        jti: payload.jti ?? '',
        ver: payload.ver,
      };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) throw invalidToken();
      throw err;
    }
    if (!/^[0-9a-f-]{36}$/i.test(claims.sub) || !Number.isSafeInteger(claims.ver)) {
      throw invalidToken();
    }
    const found = stillValid(
      await this.tokens.session(claims.sub, claims.jti, chats),
      Number(claims.ver), // a safe integer: checked above
    );
    return {
      user: found.account,
      tokenId: claims.jti,
      expiresAt: new Date(claims.exp * 1000),
      chatIds: found.chatIds,
    };
  }

  /**
   * A connected socket's account, read again: its token's signature and expiry were checked at
   * the handshake (and expiry is swept, `sweepSockets`), so only what can change since is
   * asked: not signed out, not deleted, the same token version. `unauthorized` otherwise.
   */
  async stillSignedIn(socket: {
    userId: string;
    tokenId: string;
    tokenVersion: number;
  }): Promise<Account> {
    const found = await this.tokens.session(socket.userId, socket.tokenId);
    return stillValid(found, socket.tokenVersion).account;
  }

  /**
   * Whether a socket's earlier session may be resumed as it was (connection state recovery): its
   * token still valid (not signed out or expired, the same token version) and its user's
   * memberships unchanged since, so that nothing replayed reaches someone it no longer should.
   */
  async resumable(earlier: {
    userId: string;
    tokenId: string;
    tokenVersion: number;
    membershipVersion: number;
    /** Milliseconds since the epoch; a session saved by an older process holds a Date. */
    expiresAt: number | Date;
  }): Promise<boolean> {
    if (new Date(earlier.expiresAt).getTime() <= Date.now()) return false;
    const found = await this.tokens.session(earlier.userId, earlier.tokenId);
    return (
      !!found &&
      !found.revoked &&
      !found.account.deletedAt &&
      found.account.tokenVersion === earlier.tokenVersion &&
      found.account.membershipVersion === earlier.membershipVersion
    );
  }

  async updateMe(user: Account, displayName: string): Promise<Me> {
    const updated = await this.users.updateDisplayName(user.id, displayName);
    if (!updated) throw invalidToken();
    return this.userViews.me(updated);
  }

  /** A fresh token for the caller; every earlier one, and its sockets, ends. */
  async changePassword(user: Account, input: ChangePasswordRequest): Promise<string> {
    await this.confirmPassword(user, input.currentPassword);
    assertAcceptablePassword(input.newPassword, user.username, 'newPassword');
    const updated = await this.users.setPassword(user.id, await hashPassword(input.newPassword));
    if (!updated) throw invalidToken();
    this.events.publish({ type: 'SessionsRevoked', userId: user.id });
    return this.issue(updated);
  }

  /** Sign out everywhere: every token of the user, and every socket, ends. */
  async logoutAll(user: Account): Promise<void> {
    await this.users.bumpTokenVersion(user.id);
    this.events.publish({ type: 'SessionsRevoked', userId: user.id });
  }

  /** Signs out this one token, and the sockets opened with it. */
  async logout(session: Session): Promise<void> {
    await this.tokens.revoke(session.tokenId, session.user.id, session.expiresAt);
    this.events.publish({
      type: 'SessionsRevoked',
      userId: session.user.id,
      tokenId: session.tokenId,
    });
  }

  /** The row stays (see UsersRepository.markDeleted); sign-in and every token end. */
  async deleteAccount(user: Account, password: string): Promise<void> {
    await this.confirmPassword(user, password);
    if (!(await this.users.markDeleted(user.id))) throw invalidToken();
    this.events.publish({ type: 'SessionsRevoked', userId: user.id });
  }

  /**
   * A borrowed session is not enough to change the account: the password is asked again. An
   * account deleted since the request's token was checked has no password left to confirm.
   */
  private async confirmPassword(user: Account, password: string): Promise<void> {
    const key = user.username.toLowerCase();
    await this.confirmFailures.consume(user.id);
    await this.passwordFailures.consume(key);
    const passwordHash = await this.users.passwordHash(user.id);
    if (passwordHash === undefined) throw invalidToken();
    if (!(await verifyPassword(passwordHash, password))) throw unauthorized('wrong password');
    await this.passwordFailures.refund(key);
    await this.confirmFailures.refund(user.id);
  }

  private async issue(user: Pick<Account, 'id' | 'tokenVersion'>): Promise<string> {
    return (
      new SignJWT({ ver: user.tokenVersion })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(user.id)
        // Names this one token, so that signing it out (and its sockets) leaves the others be.
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${this.ttlSeconds}s`)
        .sign(await this.key)
    );
  }
}

/**
 * The session read for a token that is still good, else `unauthorized`: not signed out, the
 * account not deleted, the token's version the account's (a password change moves it).
 */
function stillValid<S extends { revoked: boolean; account: Account }>(
  found: S | undefined,
  tokenVersion: number,
): S {
  if (
    !found ||
    found.revoked ||
    found.account.deletedAt ||
    found.account.tokenVersion !== tokenVersion
  ) {
    throw invalidToken();
  }
  return found;
}
