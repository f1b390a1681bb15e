import type { Message, MessagePage, MessagePageQuery, MessageType } from '@parley/protocol';
import type { UserSummary } from '@parley/protocol';
import { forbidden, isUniqueViolation, notFound, validationFailed } from '../errors.js';
import type { ChatsRepository } from '../repositories/chats.repository.js';
import type { MessagesRepository } from '../repositories/messages.repository.js';
import type { ChatsService } from './chats.service.js';
import type { Broadcaster, RateLimiter } from './ports.js';

export interface SendInput {
  chatId: string;
  content: string;
  messageType?: MessageType | undefined;
  clientMessageId?: string | undefined;
}

/** The send path, history and read marks: one service for the socket events and REST alike. */
export class MessagesService {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly chats: ChatsRepository,
    private readonly chatRules: ChatsService,
    private readonly broadcast: Broadcaster,
    private readonly sendLimiter: RateLimiter,
  ) {}

  /**
   * Stores the message and broadcasts it. `created` is false for a repeated clientMessageId: the
   * first message comes back, and nothing is stored or broadcast again. The broadcast happens
   * after the commit, so every `message:new` names a durable message.
   */
  async send(
    sender: UserSummary,
    input: SendInput,
  ): Promise<{ message: Message; created: boolean }> {
    const messageType = input.messageType ?? 'text';
    if (messageType === 'system') throw validationFailed("system messages are the server's alone");
    await this.sendLimiter.consume(sender.id);
    const clientMessageId = input.clientMessageId ?? null;
    let message: Message | undefined;
    try {
      message = await this.messages.insert({
        chatId: input.chatId,
        sender,
        content: input.content,
        messageType,
        clientMessageId,
      });
    } catch (err) {
      if (clientMessageId === null || !isUniqueViolation(err, 'messages_client_message_id_key'))
        throw err;
      const first = await this.messages.findByClientMessageId(
        input.chatId,
        sender.id,
        clientMessageId,
      );
      if (!first) throw err;
      return { message: first, created: false };
    }
    if (!message) {
      // Only now, off the hot path: say why nothing was stored.
      await this.chatRules.requireParticipant(input.chatId, sender.id);
      // A participant whose send stored nothing: the other side of this direct chat blocked them.
      throw forbidden('this person does not accept messages from you');
    }
    this.broadcast.messageNew(message);
    return { message, created: true };
  }

  async page(chatId: string, userId: string, query: MessagePageQuery): Promise<MessagePage> {
    // 404 for the chat, then for the cursor, and only then 403: the contract's order.
    const access = await this.chats.access(chatId, userId);
    if (!access) throw notFound('chat');
    const cursorId = query.after ?? query.before;
    let cursor: { after: number } | { before: number } | null = null;
    if (cursorId) {
      const seq = await this.messages.findSeq(chatId, cursorId);
      if (seq === undefined) throw notFound('message');
      cursor = query.after ? { after: seq } : { before: seq };
    }
    if (!access.role) throw forbidden('you are not a participant of this chat');
    const { messages, hasMore } = await this.messages.page(chatId, cursor, query.limit);
    return { messages, has_more: hasMore };
  }

  /** Moves the reader's mark up (never back) and announces it only when it moved. */
  async markRead(userId: string, chatId: string, messageId: string): Promise<void> {
    const access = await this.chats.access(chatId, userId);
    if (!access) throw notFound('chat');
    const seq = await this.messages.findSeq(chatId, messageId);
    if (seq === undefined) throw notFound('message');
    if (!access.role) throw forbidden('you are not a participant of this chat');
    // Blocked by the other side of a direct chat: the mark moves, but the blocker is not told.
    if ((await this.messages.markRead(chatId, userId, messageId, seq)) && !access.silenced) {
      this.broadcast.messageRead({ messageId, userId, chatId, seq });
    }
  }
}
