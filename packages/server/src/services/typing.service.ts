import type { AccessPolicy } from './access.js';
import type { DomainEvents } from './events.js';
import type { TypingStore } from './ports.js';

/** The typing socket, as the rules need to see it (transport-free). */
export interface Typist {
  user: { id: string; username: string };
  socketId: string;
  /** Still connected: a socket gone while its membership was read starts nothing. */
  isLive(): boolean;
  /**
   * Known, without a query, to be a participant there still (the transport knows: a removal
   * takes the user's connections out of the chat's delivery at once).
   */
  knownParticipant(chatId: string): boolean;
}

/**
 * Typing indicators: start, renew, stop, expire after the timeout, end with the socket. The others
 * hear only changes: a renewal extends the indicator silently, and a stop of nothing is silent.
 */
export class TypingService {
  constructor(
    private readonly store: TypingStore,
    private readonly access: AccessPolicy,
    private readonly events: DomainEvents,
  ) {}

  async start(chatId: string, typist: Typist): Promise<void> {
    const { user, socketId } = typist;
    const expire = () => this.stopped(chatId, user.id);
    // A repeat while the indicator lasts only pushes its expiry back: no query, no event.
    // (Known a participant: one removed meanwhile is refused below.)
    if (
      typist.knownParticipant(chatId) &&
      (await this.store.renew(chatId, user.id, socketId, expire))
    ) {
      return;
    }
    const { silenced } = await this.access.participant(chatId, user.id);
    // Blocked by the other side of a direct chat: they are not told (and the typist not either).
    if (silenced) return;
    // Gone while we checked: its disconnect already cleaned up, so start nothing it cannot stop.
    if (!typist.isLive()) return;
    if (await this.store.start(chatId, user.id, socketId, expire)) {
      this.events.publish({
        type: 'TypingChanged',
        chatId,
        userId: user.id,
        typing: true,
        username: user.username,
      });
    }
  }

  /** Only a user who was typing there is announced as stopped. */
  async stop(chatId: string, typist: Typist): Promise<void> {
    const userId = typist.user.id;
    // Known to be a participant already: no query to know it may stop.
    if (!typist.knownParticipant(chatId)) await this.access.participant(chatId, userId);
    if (await this.store.stop(chatId, userId)) this.stopped(chatId, userId);
  }

  /** The socket that was typing went away: the others hear `typing:stop` at once. */
  async socketGone(socketId: string): Promise<void> {
    for (const { chatId, userId } of await this.store.dropSocket(socketId)) {
      this.stopped(chatId, userId);
    }
  }

  /** Indicators of processes that died: the others hear `typing:stop` from whoever sweeps. */
  async sweep(): Promise<void> {
    for (const { chatId, userId } of await this.store.sweep()) this.stopped(chatId, userId);
  }

  private stopped(chatId: string, userId: string): void {
    this.events.publish({ type: 'TypingChanged', chatId, userId, typing: false });
  }

  /** Forgets every indicator and its timer (shutdown). */
  clear(): void {
    this.store.clear();
  }
}
