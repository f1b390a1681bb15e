import type { ChatsService } from './chats.service.js';
import type { Broadcaster, TypingStore } from './ports.js';

/** Typing indicators: start, renew, stop, expire after the timeout, end with the socket. */
export class TypingService {
  constructor(
    private readonly store: TypingStore,
    private readonly chatRules: ChatsService,
    private readonly broadcast: Broadcaster,
  ) {}

  /** `isLive` tells whether the typing socket is still connected once membership is checked. */
  async start(
    chatId: string,
    user: { id: string; username: string },
    socketId: string,
    isLive: () => boolean,
  ): Promise<void> {
    await this.chatRules.requireParticipant(chatId, user.id);
    // Gone while we checked: its disconnect already cleaned up, so start nothing it cannot stop.
    if (!isLive()) return;
    this.store.start(chatId, user.id, socketId, () =>
      this.broadcast.typingStop({ chatId, userId: user.id }),
    );
    this.broadcast.typingStart({ chatId, userId: user.id, username: user.username });
  }

  async stop(chatId: string, userId: string): Promise<void> {
    await this.chatRules.requireParticipant(chatId, userId);
    this.store.stop(chatId, userId);
    this.broadcast.typingStop({ chatId, userId });
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
