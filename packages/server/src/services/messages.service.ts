import type { Message, MessagePage, MessagePageQuery, MessageType } from '@parley/protocol';
import type { UserSummary } from '@parley/protocol';
import { isUniqueViolation, notFound, validationFailed } from '../errors.js';
import type { MessagesRepository } from '../repositories/messages.repository.js';
import { asParticipant, blockedSender, type AccessPolicy } from './access.js';
import type { DomainEvents } from './events.js';
import type { RateLimiter } from './ports.js';

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
    private readonly access: AccessPolicy,
    private readonly events: DomainEvents,
    private readonly sendLimiter: RateLimiter,
  ) {}

  /**
   * Stores the message and publishes it. `created` is false for a repeated clientMessageId: the
   * first message comes back, and nothing is stored or published again. It is published after
   * the commit, so every `message:new` names a durable message.
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
      await this.access.participant(input.chatId, sender.id);
      throw blockedSender();
    }
    this.events.publish({ type: 'MessageCreated', message });
    return { message, created: true };
  }

  async page(chatId: string, userId: string, query: MessagePageQuery): Promise<MessagePage> {
    // 404 for the chat, then for the cursor, and only then 403: the contract's order.
    const place = await this.access.chat(chatId, userId);
    const cursorId = query.after ?? query.before;
    let cursor: { after: number } | { before: number } | null = null;
    if (cursorId) {
      const seq = await this.messages.findSeq(chatId, cursorId);
      if (seq === undefined) throw notFound('message');
      cursor = query.after ? { after: seq } : { before: seq };
    }
    asParticipant(place);
    const { messages, hasMore } = await this.messages.page(chatId, cursor, query.limit);
    return { messages, has_more: hasMore };
  }

  /** Moves the reader's mark up (never back) and announces it only when it moved. */
  async markRead(userId: string, chatId: string, messageId: string): Promise<void> {
    const place = await this.access.chat(chatId, userId);
    const seq = await this.messages.findSeq(chatId, messageId);
    if (seq === undefined) throw notFound('message');
    const { silenced } = asParticipant(place);
    // Blocked by the other side of a direct chat: the mark moves, but the blocker is not told.
    if ((await this.messages.markRead(chatId, userId, messageId, seq)) && !silenced) {
      this.events.publish({ type: 'MessageRead', chatId, messageId, userId, seq });
    }
  }
}
