import type { Me, User, UserSummary } from '@parley/protocol';
import type { UserRow } from '../db/schema.js';
import { notFound } from '../errors.js';
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

export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly presence: PresenceStore,
  ) {}

  /** The public user objects of these rows, with live presence. */
  async present<R extends UserRow>(rows: readonly R[]): Promise<(User & { row: R })[]> {
    const online = await this.presence.onlineAmong(rows.map((r) => r.id));
    return rows.map((row) => ({ ...toUser(row, online.has(row.id)), row }));
  }

  async presentOne(row: UserRow): Promise<User> {
    const online = await this.presence.onlineAmong([row.id]);
    return toUser(row, online.has(row.id));
  }

  /** The user as they see themself: with email. */
  async me(row: UserRow): Promise<Me> {
    return { ...(await this.presentOne(row)), email: row.email };
  }

  async get(userId: string): Promise<User> {
    const row = await this.users.findById(userId);
    if (!row) throw notFound('user');
    return this.presentOne(row);
  }

  async search(prefix: string, callerId: string): Promise<User[]> {
    const rows = await this.users.search(prefix, callerId, SEARCH_LIMIT);
    return (await this.present(rows)).map(({ row: _row, ...user }) => user);
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
