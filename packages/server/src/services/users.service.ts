import type { Me, User, UserSummary } from '@parley/protocol';
import type { UserRow } from '../db/schema.js';
import { notFound, validationFailed } from '../errors.js';
import type { BlocksRepository } from '../repositories/blocks.repository.js';
import type { ChatsRepository } from '../repositories/chats.repository.js';
import { iso, isoOrNull } from '../repositories/mappers.js';
import type { UsersRepository } from '../repositories/users.repository.js';
import type { PresenceStore } from './ports.js';

const SEARCH_LIMIT = 20;

export const toSummary = (row: UserRow): UserSummary => ({
  id: row.id,
  username: row.username,
  display_name: row.display_name,
  avatar_url: row.avatar_url,
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
  async present<R extends UserRow>(rows: readonly R[]): Promise<(User & { row: R })[]> {
    const online = await this.presence.onlineAmong(rows.map((r) => r.id));
    return rows.map((row) => ({ ...toUser(row, online.has(row.id)), row }));
  }

  /** These users as `viewerId` may see them: one query tells contacts from strangers. */
  async presentTo(viewerId: string, rows: readonly UserRow[]): Promise<User[]> {
    const ids = rows.map((r) => r.id);
    const [contacts, online] = await Promise.all([
      this.chats.sharingAChatWith(viewerId, ids),
      this.presence.onlineAmong(ids),
    ]);
    return rows.map((row) =>
      row.id === viewerId || contacts.has(row.id)
        ? toUser(row, online.has(row.id))
        : { ...toUser(row, false), status: null, last_seen_at: null },
    );
  }

  /** The user as they see themself: with email. */
  async me(row: UserRow): Promise<Me> {
    const online = await this.presence.onlineAmong([row.id]);
    return { ...toUser(row, online.has(row.id)), email: row.email };
  }

  async get(userId: string, viewerId: string): Promise<User> {
    const row = await this.users.findById(userId);
    if (!row) throw notFound('user');
    const [user] = await this.presentTo(viewerId, [row]);
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

function toUser(row: UserRow, online: boolean): User {
  return {
    ...toSummary(row),
    status: online ? 'online' : 'offline',
    last_seen_at: isoOrNull(row.last_seen_at),
    created_at: iso(row.created_at),
  };
}
