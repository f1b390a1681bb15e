import type { UsersRepository } from '../repositories/users.repository.js';
import type { Broadcaster, PresenceStore } from './ports.js';

/**
 * Online/offline, told to contacts only (users who share a chat), and only when the first socket
 * of a user connects or the last one goes: a second tab announces nothing.
 */
export class PresenceService {
  constructor(
    private readonly store: PresenceStore,
    private readonly users: UsersRepository,
    private readonly broadcast: Broadcaster,
  ) {}

  async connected(userId: string, socketId: string): Promise<void> {
    if (!(await this.store.connect(userId, socketId))) return;
    const contacts = await this.users.contactIds(userId);
    this.broadcast.userStatus(contacts, { userId, status: 'online' });
  }

  async disconnected(userId: string, socketId: string): Promise<void> {
    if (!(await this.store.disconnect(userId, socketId))) return;
    const lastSeen = new Date();
    const [contacts] = await Promise.all([
      this.users.contactIds(userId),
      this.users.touchLastSeen(userId, lastSeen),
    ]);
    this.broadcast.userStatus(contacts, {
      userId,
      status: 'offline',
      lastSeenAt: lastSeen.toISOString(),
    });
  }
}
