import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { DB } from '../db/schema.js';
import { AttachmentsRepository } from '../repositories/attachments.repository.js';
import { BlocksRepository } from '../repositories/blocks.repository.js';
import { ChatsRepository } from '../repositories/chats.repository.js';
import { MessagesRepository, type GroupCommitStats } from '../repositories/messages.repository.js';
import { ReactionsRepository } from '../repositories/reactions.repository.js';
import { SearchRepository } from '../repositories/search.repository.js';
import { TokensRepository } from '../repositories/tokens.repository.js';
import { UsersRepository } from '../repositories/users.repository.js';
import { AccessPolicy } from './access.js';
import { AuthService } from './auth.service.js';
import { CallsService } from './calls.service.js';
import { ChatsService } from './chats.service.js';
import { IceServersService } from './ice-servers.service.js';
import type { DomainEvents } from './events.js';
import { MessagesService } from './messages.service.js';
import type { RateLimiter, SharedState, UploadStorage } from './ports.js';
import { PresenceService } from './presence.service.js';
import { SearchService } from './search.service.js';
import { TypingService } from './typing.service.js';
import { UploadLinks } from './upload-links.js';
import { UploadsService } from './uploads.service.js';
import { UsersService } from './users.service.js';
import { DiskStorage } from '../storage/disk.js';

export interface Services {
  access: AccessPolicy;
  auth: AuthService;
  users: UsersService;
  chats: ChatsService;
  messages: MessagesService;
  search: SearchService;
  presence: PresenceService;
  typing: TypingService;
  calls: CallsService;
  ice: IceServersService;
  uploads: UploadsService;
  /** Login and registration attempts, per client IP per minute. */
  authLimiter: RateLimiter;
}

/**
 * Wires repositories into services: the one place that knows who needs what. `events` is where
 * services tell what happened (realtime/ delivers it); `state` is what every process shares.
 */
export function createServices(
  db: Kysely<DB>,
  config: Config,
  events: DomainEvents,
  state: SharedState,
  log: Logger,
  /** What group commit did with the sends and reads (metrics). */
  groupCommitStats?: GroupCommitStats,
  /** Where uploads live: DATA_DIR/uploads on disk unless a test gives another. */
  storage: UploadStorage = new DiskStorage(config.uploadsDir),
): Services {
  const usersRepo = new UsersRepository(db);
  const chatsRepo = new ChatsRepository(db);
  const links = new UploadLinks(config.jwtSecret);
  const messagesRepo = new MessagesRepository(db, links.attachment, groupCommitStats);
  const attachmentsRepo = new AttachmentsRepository(db);
  const blocksRepo = new BlocksRepository(db);
  const access = new AccessPolicy(chatsRepo);
  // RATE_LIMIT_MESSAGES counts sends; edits, deletes, reactions and uploads share an allowance
  // of the same size of their own.
  const sendsLimiter = state.limiter('messages', config.rateLimitMessages, 10);
  const changesLimiter = state.limiter('changes', config.rateLimitMessages, 10);
  const uploads = new UploadsService(
    attachmentsRepo,
    storage,
    access,
    changesLimiter,
    links,
    config.maxUploadBytes,
    log,
  );

  const users = new UsersService(usersRepo, chatsRepo, blocksRepo, state.presence);
  const chats = new ChatsService(
    chatsRepo,
    messagesRepo,
    usersRepo,
    users,
    blocksRepo,
    access,
    events,
    state.limiter('chats', config.rateLimitChats, 3600),
  );
  return {
    access,
    auth: new AuthService(
      usersRepo,
      new TokensRepository(db),
      users,
      events,
      // Failed password checks per account name, per minute: ten times the per-IP allowance, so
      // that guessing one account's password from many addresses is still slowed down, while the
      // limit a client meets is its own address's (RATE_LIMIT_AUTH is per IP): someone else's
      // failures from elsewhere lock nobody out of their account at that rate.
      state.limiter('password', config.rateLimitAuth * PASSWORD_FAILURES_MULTIPLIER, 60),
      state.limiter('confirm', config.rateLimitAuth, 60),
      config.jwtSecret,
      config.jwtTtlSeconds,
    ),
    users,
    chats,
    messages: new MessagesService(
      messagesRepo,
      new ReactionsRepository(db),
      access,
      events,
      sendsLimiter,
      changesLimiter,
      config.messageEditWindow,
      attachmentsRepo,
      uploads,
    ),
    search: new SearchService(
      // PostgreSQL's autovacuum gathers planner statistics; the embedded PGlite runs none.
      new SearchRepository(db, { statistics: config.databaseUrl !== undefined }),
      messagesRepo,
      access,
      state.limiter('search', config.rateLimitMessages, 10),
    ),
    presence: new PresenceService(
      state.presence,
      usersRepo,
      events,
      config.maxSocketsPerUser,
      config.presenceGraceMs,
      log,
    ),
    typing: new TypingService(state.typing, access, events),
    calls: new CallsService(
      state.calls,
      access,
      chatsRepo,
      messagesRepo,
      events,
      config.callRingTimeoutMs,
      log,
    ),
    ice: new IceServersService(config),
    uploads,
    authLimiter: state.limiter('auth', config.rateLimitAuth, 60),
  };
}

/** Failed sign-ins to one account a minute, as a multiple of RATE_LIMIT_AUTH (per IP). */
const PASSWORD_FAILURES_MULTIPLIER = 10;
