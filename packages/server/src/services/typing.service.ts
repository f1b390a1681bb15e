import type { ChatsService } from './chats.service.js';
import type { Broadcaster, TypingStore } from './ports.js';

/** The typing socket, as the rules need to see it (transport-free). */
export interface Typist {
  user: { id: string; username: string };
  socketId: string;
  /** Still connected: a socket gone while its membership was read starts nothing. */
  isLive(): boolean;
  /** Sits in the chat's room, where only participants are: a removal takes its sockets out. */
  inChatRoom(chatId: string): boolean;
}

/**
 * Typing indicators: start, renew, stop, expire after the timeout, end with the socket. The others
 * hear only changes: a renewal extends the indicator silently, and a stop of nothing is silent.
 */
export class TypingService {
  constructor(
    private readonly store: TypingStore,
    private readonly chatRules: ChatsService,
    private readonly broadcast: Broadcaster,
  ) {}

  async start(chatId: string, typist: Typist): Promise<void> {
    const { user, socketId } = typist;
    // A repeat while the indicator lasts only pushes its expiry back: no query, no broadcast.
    // (Still in the room: a participant removed meanwhile is refused below.)
    if (typist.inChatRoom(chatId) && this.store.renew(chatId, user.id, socketId)) return;
    const { silenced } = await this.chatRules.requireParticipant(chatId, user.id);
    // Blocked by the other side of a direct chat: they are not told (and the typist not either).
    if (silenced) return;
    // Gone while we checked: its disconnect already cleaned up, so start nothing it cannot stop.
    if (!typist.isLive()) return;
    const started = this.store.start(chatId, user.id, socketId, () =>
      this.broadcast.typingStop({ chatId, userId: user.id }),
    );
    if (started) this.broadcast.typingStart({ chatId, userId: user.id, username: user.username });
  }

  /** Only a user who was typing there is announced as stopped. */
  async stop(chatId: string, typist: Typist): Promise<void> {
    const userId = typist.user.id;
    // In the chat's room the socket is a participant already: no query to know it may stop.
    if (!typist.inChatRoom(chatId)) await this.chatRules.requireParticipant(chatId, userId);
    if (this.store.stop(chatId, userId)) this.broadcast.typingStop({ chatId, userId });
  }

  /** The socket that was typing went away: the others hear `typing:stop` at once. */
  socketGone(socketId: string): void {
    for (const entry of this.store.dropSocket(socketId)) this.broadcast.typingStop(entry);
  }

  /** Forgets every indicator and its timer (shutdown). */
  clear(): void {
    this.store.clear();
  }
}
