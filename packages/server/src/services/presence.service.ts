import { AppError } from '../errors.js';
import type { UsersRepository } from '../repositories/users.repository.js';
import type { Broadcaster, PresenceStore } from './ports.js';

/**
 * Online/offline, told to contacts only (users who share a chat), and only when the first socket
 * of a user connects or the last one goes: a second tab announces nothing.
 */
export class PresenceService {
  /** Per user, the announcement under way: the next waits for it, so online/offline keep order. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly store: PresenceStore,
    private readonly users: UsersRepository,
    private readonly broadcast: Broadcaster,
    /** MAX_SOCKETS_PER_USER. */
    private readonly maxSockets: number,
  ) {}

  /**
   * A handshake takes one of the user's places, all processes together: `rate_limited` when
   * MAX_SOCKETS_PER_USER are taken. The place is the socket's until `release`, which must follow
   * its disconnect and a handshake that fails after this.
   */
  async admit(userId: string, socketId: string): Promise<void> {
    if (!(await this.store.claimPlace(userId, socketId, this.maxSockets))) {
      throw new AppError('rate_limited', `at most ${this.maxSockets} connections per user`);
    }
  }

  release(userId: string, socketId: string): Promise<void> {
    return this.store.releasePlace(userId, socketId);
  }

  connected(userId: string, socketId: string): Promise<void> {
    return this.inOrder(userId, () => this.announceOnline(userId, socketId));
  }

  disconnected(userId: string, socketId: string): Promise<void> {
    return this.inOrder(userId, () => this.announceOffline(userId, socketId));
  }

  private inOrder(userId: string, work: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(userId) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.queues.set(userId, next);
    const forget = () => {
      if (this.queues.get(userId) === next) this.queues.delete(userId);
    };
    next.then(forget, forget);
    return next;
  }

  private async announceOnline(userId: string, socketId: string): Promise<void> {
    if (!(await this.store.connect(userId, socketId))) return;
    const contacts = await this.users.contactIds(userId);
    this.broadcast.userStatus(contacts, { userId, status: 'online' });
  }

  private async announceOffline(userId: string, socketId: string): Promise<void> {
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
