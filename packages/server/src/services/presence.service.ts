import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { UsersRepository } from '../repositories/users.repository.js';
import type { DomainEvents } from './events.js';
import type { PresenceStore } from './ports.js';

/**
 * Online/offline, told to contacts only (users who share a chat), and only when the first socket
 * of a user connects anywhere or the last one has been gone for the grace: a second tab announces
 * nothing, and neither does a reload or a reconnect within the grace.
 */
export class PresenceService {
  /** Per user, the announcement under way: the next waits for it, so online/offline keep order. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Users whose last socket (on this process) went, and when: offline once the grace ends. */
  private readonly graces = new Map<string, { timer: NodeJS.Timeout; since: Date }>();

  constructor(
    private readonly store: PresenceStore,
    private readonly users: UsersRepository,
    private readonly events: DomainEvents,
    /** MAX_SOCKETS_PER_USER. */
    private readonly maxSockets: number,
    /** How long after the last socket goes the user is still shown online. */
    private readonly graceMs: number,
    private readonly log: Logger,
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
    return this.inOrder(userId, async () => {
      if (await this.store.connect(userId, socketId)) await this.announce(userId, 'online');
    });
  }

  /** Resolves true when that was the user's last socket anywhere. */
  async disconnected(userId: string, socketId: string): Promise<boolean> {
    let last = false;
    await this.inOrder(userId, async () => {
      if (!(await this.store.disconnect(userId, socketId))) return;
      last = true;
      clearTimeout(this.graces.get(userId)?.timer);
      const timer = setTimeout(() => {
        this.settle(userId).catch((err: unknown) =>
          this.log.error({ err }, 'presence update failed'),
        );
      }, this.graceMs);
      timer.unref();
      this.graces.set(userId, { timer, since: new Date() });
    });
    return last;
  }

  /**
   * Users whose process died: its sockets are forgotten and those left with none anywhere are
   * announced offline, by whichever process sweeps first. Every process runs this periodically.
   */
  async sweep(): Promise<void> {
    for (const { userId, lastSeenAt } of await this.store.sweep()) {
      await this.inOrder(userId, () => this.announce(userId, 'offline', lastSeenAt));
    }
  }

  /**
   * Users whose sockets this process registered again after Redis lost them (a restart): the
   * processes that asked Redis meanwhile saw them offline, so they are announced online again.
   */
  async restored(userIds: readonly string[]): Promise<void> {
    await Promise.all(userIds.map((id) => this.inOrder(id, () => this.announce(id, 'online'))));
  }

  /**
   * Shutdown, once the sockets have gone: the graces under way end here when no other process is
   * left to end them (always, alone), so that last-seen times are written before the close.
   */
  async shutdown(): Promise<void> {
    for (const { timer } of this.graces.values()) clearTimeout(timer);
    this.graces.clear();
    for (const { userId, lastSeenAt } of await this.store.leave()) {
      await this.inOrder(userId, () => this.announce(userId, 'offline', lastSeenAt));
    }
  }

  private settle(userId: string): Promise<void> {
    const grace = this.graces.get(userId);
    if (!grace) return Promise.resolve();
    clearTimeout(grace.timer);
    this.graces.delete(userId);
    return this.inOrder(userId, async () => {
      if (await this.store.settleOffline(userId)) {
        await this.announce(userId, 'offline', grace.since);
      }
    });
  }

  private async announce(userId: string, status: 'online'): Promise<void>;
  private async announce(userId: string, status: 'offline', lastSeen: Date): Promise<void>;
  private async announce(
    userId: string,
    status: 'online' | 'offline',
    lastSeen?: Date,
  ): Promise<void> {
    if (!lastSeen) {
      const contactIds = await this.users.contactIds(userId);
      this.events.publish({ type: 'PresenceChanged', userId, contactIds, status });
      return;
    }
    const [contactIds] = await Promise.all([
      this.users.contactIds(userId),
      this.users.touchLastSeen(userId, lastSeen),
    ]);
    this.events.publish({
      type: 'PresenceChanged',
      userId,
      contactIds,
      status,
      lastSeenAt: lastSeen.toISOString(),
    });
    // Another process may have announced the user online after our transition but before our
    // publish (its queries were quicker): whoever is online now is said so last.
    if ((await this.store.onlineAmong([userId])).has(userId)) {
      this.events.publish({ type: 'PresenceChanged', userId, contactIds, status: 'online' });
    }
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
}
