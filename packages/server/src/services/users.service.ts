import type { Me, User, UserSummary } from '@parley/protocol';
import { notFound, validationFailed } from '../errors.js';
import type { BlocksRepository } from '../repositories/blocks.repository.js';
import type { ChatsRepository } from '../repositories/chats.repository.js';
import { iso, isoOrNull } from '../time.js';
import type { UsersRepository } from '../repositories/users.repository.js';
import type { Account } from './models.js';
import type { PresenceStore } from './ports.js';

const SEARCH_LIMIT = 20;

export const toSummary = (account: Account): UserSummary => ({
  id: account.id,
  username: account.username,
  display_name: account.displayName,
  avatar_url: account.avatarUrl,
});

/**
 * Users as others see them, and blocking. Presence (`status`, `last_seen_at`) is shown only to
 * contacts, those who share a chat, and to the user themself; anyone else reads `null`.
 */
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly chats: ChatsRepository,
    private readonly blocks: BlocksRepository,
    private readonly presence: PresenceStore,
  ) {}

  /**
   * Chat participants with live presence. Only for a chat's views: everyone who sees one shares
   * that chat with every participant, so all of them are contacts.
   */
  async present<R extends { account: Account }>(
    records: readonly R[],
  ): Promise<{ user: User; record: R }[]> {
    const online = await this.presence.onlineAmong(records.map((r) => r.account.id));
    return records.map((record) => ({
      user: toUser(record.account, online.has(record.account.id)),
      record,
    }));
  }

  /** These users as `viewerId` may see them: one query tells contacts from strangers. */
  async presentTo(viewerId: string, accounts: readonly Account[]): Promise<User[]> {
    const ids = accounts.map((a) => a.id);
    const [contacts, online] = await Promise.all([
      this.chats.sharingAChatWith(viewerId, ids),
      this.presence.onlineAmong(ids),
    ]);
    return accounts.map((account) =>
      account.id === viewerId || contacts.has(account.id)
        ? toUser(account, online.has(account.id))
        : { ...toUser(account, false), status: null, last_seen_at: null },
    );
  }

  /** The user as they see themself: with email. */
  async me(account: Account): Promise<Me> {
    const online = await this.presence.onlineAmong([account.id]);
    return { ...toUser(account, online.has(account.id)), email: account.email };
  }

  /** A user as the viewer sees them; the viewer themself as `me` shows them, with their email. */
  async get(userId: string, viewerId: string): Promise<User | Me> {
    const account = await this.users.findById(userId);
    if (!account) throw notFound('user');
    if (userId === viewerId) return this.me(account);
    const [user] = await this.presentTo(viewerId, [account]);
    if (!user) throw notFound('user');
    return user;
  }

  async search(prefix: string, viewerId: string): Promise<User[]> {
    return this.presentTo(viewerId, await this.users.search(prefix, viewerId, SEARCH_LIMIT));
  }

  // Blocking: the blocked user can no longer open a direct chat with the blocker nor add them to
  // a group (ChatsService checks). Chats they already share stay as they are.

  async block(blockerId: string, userId: string): Promise<void> {
    await this.requireOther(blockerId, userId);
    await this.blocks.block(blockerId, userId);
  }

  async unblock(blockerId: string, userId: string): Promise<void> {
    await this.requireOther(blockerId, userId);
    await this.blocks.unblock(blockerId, userId);
  }

  async blocked(blockerId: string): Promise<User[]> {
    return this.presentTo(blockerId, await this.blocks.blockedBy(blockerId));
  }

  /** 400 for oneself, then 404 for nobody: the contract's order. */
  private async requireOther(callerId: string, userId: string): Promise<void> {
    if (userId === callerId) throw validationFailed('you cannot block yourself');
    if (!(await this.users.findById(userId))) throw notFound('user');
  }
}

/** Key by key rather than spread from `toSummary`: see `toParticipant` (chats.service.ts). */
function toUser(account: Account, online: boolean): User {
  return {
    id: account.id,
    username: account.username,
    display_name: account.displayName,
    avatar_url: account.avatarUrl,
    status: online ? 'online' : 'offline',
    last_seen_at: isoOrNull(account.lastSeenAt),
    created_at: iso(account.createdAt),
  };
}
