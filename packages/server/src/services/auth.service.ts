import { randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { AuthResponse, LoginRequest, RegisterRequest } from '@parley/protocol';
import type { UserRow } from '../db/schema.js';
import { conflict, isUniqueViolation, unauthorized } from '../errors.js';
import type { UsersRepository } from '../repositories/users.repository.js';
import type { UsersService } from './users.service.js';

// Algorithm.Argon2id; the package's const enum cannot be imported under verbatimModuleSyntax.
const ARGON2 = { algorithm: 2 } as const;

export class AuthService {
  private readonly key: Uint8Array;
  /** Verified against when the user is unknown, so both failures take the same time. */
  private readonly decoyHash: Promise<string>;

  constructor(
    private readonly users: UsersRepository,
    private readonly userViews: UsersService,
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
    this.decoyHash = hash('parley-decoy-password', ARGON2);
  }

  async register(input: RegisterRequest): Promise<AuthResponse> {
    let row: UserRow;
    try {
      row = await this.users.create({
        username: input.username,
        email: input.email ?? null,
        display_name: input.displayName ?? input.username,
        password_hash: await hash(input.password, ARGON2),
        avatar_url: null,
      });
    } catch (err) {
      if (isUniqueViolation(err, 'users_username_lower_key')) throw conflict('username is taken');
      if (isUniqueViolation(err, 'users_email_lower_key')) throw conflict('email is taken');
      throw err;
    }
    return { token: await this.issue(row.id), user: await this.userViews.me(row) };
  }

  /** One answer for an unknown user and a wrong password. */
  async login(input: LoginRequest): Promise<AuthResponse> {
    const row = await this.users.findByLogin(
      'username' in input ? { username: input.username } : { email: input.email },
    );
    const ok = await verify(row?.password_hash ?? (await this.decoyHash), input.password);
    if (!row || !ok) throw unauthorized('wrong username or password');
    return { token: await this.issue(row.id), user: await this.userViews.me(row) };
  }

  /** The user behind a token; refuses expired, malformed, wrongly signed and orphaned tokens. */
  async authenticate(token: string | undefined): Promise<UserRow> {
    return (await this.session(token)).user;
  }

  /** As `authenticate`, with the moment the token expires (a socket ends its session then). */
  async session(
    token: string | undefined,
  ): Promise<{ user: UserRow; expiresAt: Date; tokenId: string }> {
    if (!token) throw unauthorized();
    let subject: string | undefined;
    let exp: number;
    let tokenId: string;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub', 'jti'],
      });
      subject = payload.sub;
      exp = payload.exp ?? 0;
      tokenId = payload.jti ?? '';
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) {
        throw unauthorized('invalid or expired token');
      }
      throw err;
    }
    const row =
      subject && /^[0-9a-f-]{36}$/i.test(subject) ? await this.users.findById(subject) : undefined;
    if (!row) throw unauthorized('invalid or expired token');
    return { user: row, expiresAt: new Date(exp * 1000), tokenId };
  }

  private issue(userId: string): Promise<string> {
    return (
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        // Names this one token, so that signing it out (and its sockets) leaves the others be.
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(`${this.ttlSeconds}s`)
        .sign(this.key)
    );
  }
}
