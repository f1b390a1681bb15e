import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { DB } from '../db/schema.js';
import { BlocksRepository } from '../repositories/blocks.repository.js';
import { ChatsRepository } from '../repositories/chats.repository.js';
import { MessagesRepository } from '../repositories/messages.repository.js';
import { TokensRepository } from '../repositories/tokens.repository.js';
import { UsersRepository } from '../repositories/users.repository.js';
import { AuthService } from './auth.service.js';
import { ChatsService } from './chats.service.js';
import { InProcessPresence, InProcessTyping, inProcessRateLimiter } from './in-process.js';
import { MessagesService } from './messages.service.js';
import type { Broadcaster, RateLimiter } from './ports.js';
import { PresenceService } from './presence.service.js';
import { TypingService } from './typing.service.js';
import { UsersService } from './users.service.js';

export interface Services {
  auth: AuthService;
  users: UsersService;
  chats: ChatsService;
  messages: MessagesService;
  presence: PresenceService;
  typing: TypingService;
  /** Login and registration attempts, per client IP per minute. */
  authLimiter: RateLimiter;
}

/** Wires repositories into services: the one place that knows who needs what. */
export function createServices(db: Kysely<DB>, config: Config, broadcast: Broadcaster): Services {
  const usersRepo = new UsersRepository(db);
  const chatsRepo = new ChatsRepository(db);
  const messagesRepo = new MessagesRepository(db);
  const presenceStore = new InProcessPresence();
  const typingStore = new InProcessTyping(config.typingTimeoutMs);

  const blocksRepo = new BlocksRepository(db);
  const users = new UsersService(usersRepo, chatsRepo, blocksRepo, presenceStore);
  const chats = new ChatsService(
    chatsRepo,
    messagesRepo,
    usersRepo,
    users,
    blocksRepo,
    broadcast,
    inProcessRateLimiter(config.rateLimitChats, 3600),
  );
  return {
    auth: new AuthService(
      usersRepo,
      new TokensRepository(db),
      users,
      broadcast,
      // Failed password checks per account name: as many as the per-IP allowance, per minute.
      inProcessRateLimiter(config.rateLimitAuth, 60),
      config.jwtSecret,
      config.jwtTtlSeconds,
    ),
    users,
    chats,
    messages: new MessagesService(
      messagesRepo,
      chatsRepo,
      chats,
      broadcast,
      inProcessRateLimiter(config.rateLimitMessages, 10),
    ),
    presence: new PresenceService(presenceStore, usersRepo, broadcast, config.maxSocketsPerUser),
    typing: new TypingService(typingStore, chats, broadcast),
    authLimiter: inProcessRateLimiter(config.rateLimitAuth, 60),
  };
}
