import type {
  ChangesPage,
  ChangesQuery,
  Message,
  MessageEdits,
  MessagePage,
  MessagePageQuery,
  MessageType,
} from '@parley/protocol';
import { REACTIONS_PER_MESSAGE_MAX, type UserSummary } from '@parley/protocol';
import { AppError, conflict, isUniqueViolation, notFound, validationFailed } from '../errors.js';
import type { AttachmentsRepository, Discarded } from '../repositories/attachments.repository.js';
import type { MessagesRepository } from '../repositories/messages.repository.js';
import type { ReactionsRepository } from '../repositories/reactions.repository.js';
import {
  asMessageDeleter,
  asMessageEditor,
  asParticipant,
  blockedSender,
  notParticipant,
  type AccessPolicy,
  type Membership,
} from './access.js';
import { iso } from '../time.js';
import type { DomainEvents } from './events.js';
import type { RateLimiter } from './ports.js';

export interface SendInput {
  chatId: string;
  content: string;
  messageType?: MessageType | undefined;
  clientMessageId?: string | undefined;
  replyToId?: string | undefined;
  attachmentIds?: readonly string[] | undefined;
}

/** What becomes of a deleted message's attachments: their files go, after the commit. */
export interface AttachmentFiles {
  discard(rows: readonly Discarded[]): Promise<void>;
}

export interface ReactionInput {
  chatId: string;
  messageId: string;
  emoji: string;
}

export interface EditInput {
  chatId: string;
  messageId: string;
  content: string;
}

const deletedMessage = () => conflict('the message was deleted');

/** The send path, history and read marks: one service for the socket events and REST alike. */
export class MessagesService {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly reactions: ReactionsRepository,
    private readonly access: AccessPolicy,
    private readonly events: DomainEvents,
    /** RATE_LIMIT_MESSAGES: a user's sends, socket and REST alike. */
    private readonly sendLimit: RateLimiter,
    /**
     * Edits, deletes and reactions: an allowance of the same size but their own, so that they
     * never spend the sends' (the contract counts sends alone) and a flood of them over REST,
     * which no per-socket event limit sees, is still bounded.
     */
    private readonly changeLimit: RateLimiter,
    /** MESSAGE_EDIT_WINDOW, in seconds; 0 is no limit. */
    private readonly editWindowSeconds: number,
    private readonly attachments: AttachmentsRepository,
    private readonly files: AttachmentFiles,
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
    await this.sendLimit.consume(sender.id);
    const clientMessageId = input.clientMessageId ?? null;
    let message: Message | undefined;
    try {
      message = await this.messages.insert({
        chatId: input.chatId,
        sender,
        content: input.content,
        messageType,
        clientMessageId,
        replyToId: input.replyToId ?? null,
        attachmentIds: input.attachmentIds ?? null,
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
      const ids = input.attachmentIds ?? [];
      // A repeated send with attachments finds them claimed by its first copy (a racing copy
      // waits on their locks, then sees them claimed), so the statement stores nothing before the
      // unique key could object: it is the same send, acked with the first message again.
      if (clientMessageId !== null && ids.length > 0) {
        const first = await this.messages.findByClientMessageId(
          input.chatId,
          sender.id,
          clientMessageId,
        );
        if (first) return { message: first, created: false };
      }
      // Only now, off the hot path: say why nothing was stored, in the contract's order.
      if (
        ids.length > 0 &&
        (await this.attachments.claimable(ids, sender.id, input.chatId)) !== ids.length
      ) {
        throw validationFailed(
          'attachmentIds: each must be a finished upload of yours to this chat, not sent yet',
        );
      }
      const place = await this.access.chat(input.chatId, sender.id);
      if (
        input.replyToId &&
        (await this.messages.findSeq(input.chatId, input.replyToId)) === undefined
      )
        throw notFound('message');
      asParticipant(place);
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

  /** What changed in the chat after version `since`: new messages, edits and tombstones. */
  async changes(chatId: string, userId: string, query: ChangesQuery): Promise<ChangesPage> {
    await this.access.participant(chatId, userId);
    const { messages, hasMore } = await this.messages.changes(chatId, query.since, query.limit);
    const version = messages.at(-1)?.version ?? query.since;
    return { messages, version, has_more: hasMore };
  }

  /**
   * Replaces a message's content: the socket's message:edit and the REST twin. The same content
   * again stores and publishes nothing, and answers with the message as it is.
   */
  async edit(userId: string, input: EditInput): Promise<Message> {
    // Content rules as for a send: only a message that carries attachments may say nothing. Empty
    // content is `validation_failed` before `not_found` and `forbidden`, as the contract orders
    // them, unless it is that case (an outage stays an outage).
    const empty = input.content.trim() === '';
    const emptyRefused = () => validationFailed('content: must not be empty');
    const { message } = await this.target(userId, input.chatId, input.messageId).catch(
      (err: unknown) => {
        const refusal = err instanceof AppError && ['not_found', 'forbidden'].includes(err.code);
        throw empty && refusal ? emptyRefused() : err;
      },
    );
    if (empty && message.attachments.length === 0) throw emptyRefused();
    asMessageEditor(userId, message, this.editWindowSeconds, new Date());
    if (message.deleted_at !== null) throw deletedMessage();
    if (message.content === input.content) return message;
    await this.changeLimit.consume(userId);
    const result = await this.messages.edit(input.chatId, input.messageId, userId, input.content);
    switch (result.status) {
      case 'changed':
        this.events.publish({ type: 'MessageUpdated', message: result.value });
        return result.value;
      case 'deleted':
        throw deletedMessage();
      case 'unchanged': {
        // A racing edit stored this very content meanwhile: answer with the message as it is.
        const now = await this.messages.find(input.chatId, input.messageId);
        if (!now) throw notFound('message');
        return now;
      }
      case 'missing':
        throw notFound('message');
      case 'outsider':
        throw notParticipant();
    }
  }

  /** Leaves a tombstone: the socket's message:delete and the REST twin. Twice is fine. */
  async delete(userId: string, chatId: string, messageId: string): Promise<void> {
    const { message, member } = await this.target(userId, chatId, messageId);
    asMessageDeleter(member, userId, message);
    if (message.deleted_at !== null) return;
    await this.changeLimit.consume(userId);
    const result = await this.messages.delete(chatId, messageId, userId);
    switch (result.status) {
      case 'changed': {
        const { seq, version, deletedAt, discarded } = result.value;
        await this.files.discard(discarded);
        this.events.publish({
          type: 'MessageDeleted',
          chatId,
          messageId,
          seq,
          version,
          deletedAt: iso(deletedAt),
        });
        return;
      }
      case 'deleted':
      case 'unchanged':
        return;
      case 'missing':
        throw notFound('message');
      case 'outsider':
        throw notParticipant();
    }
  }

  /**
   * Adds or removes the user's emoji: the socket's reaction:add/remove and the REST twins. What
   * changes nothing (adding it twice, removing what is not there) answers ok and publishes nothing.
   */
  async react(userId: string, input: ReactionInput, op: 'add' | 'remove'): Promise<void> {
    const { message } = await this.target(userId, input.chatId, input.messageId);
    if (message.deleted_at !== null) throw deletedMessage();
    await this.changeLimit.consume(userId);
    const result = await this.reactions.react(
      input.chatId,
      input.messageId,
      userId,
      input.emoji,
      op,
      REACTIONS_PER_MESSAGE_MAX,
    );
    switch (result.status) {
      case 'changed':
        this.events.publish({
          type: 'ReactionUpdated',
          chatId: input.chatId,
          messageId: input.messageId,
          emoji: input.emoji,
          userId,
          op,
          ...result.value,
        });
        return;
      case 'unchanged':
        return;
      case 'deleted':
        throw deletedMessage();
      case 'full':
        throw conflict(`a message holds at most ${REACTIONS_PER_MESSAGE_MAX} different emoji`);
      case 'missing':
        throw notFound('message');
      case 'outsider':
        throw notParticipant();
    }
  }

  /** A message's earlier contents, oldest first: participants only. */
  async edits(userId: string, chatId: string, messageId: string): Promise<MessageEdits> {
    await this.target(userId, chatId, messageId);
    const edits = await this.messages.edits(messageId);
    return { edits: edits.map((e) => ({ content: e.content, edited_at: iso(e.editedAt) })) };
  }

  /** The chat (404), the message in it (404), then the caller's place (403): the contract's order. */
  private async target(
    userId: string,
    chatId: string,
    messageId: string,
  ): Promise<{ message: Message; member: Membership }> {
    const place = await this.access.chat(chatId, userId);
    const message = await this.messages.find(chatId, messageId);
    if (!message) throw notFound('message');
    return { message, member: asParticipant(place) };
  }

  /** Moves the reader's mark up (never back) and announces it only when it moved. */
  async markRead(userId: string, chatId: string, messageId: string): Promise<void> {
    // One statement: it moves the mark only for a participant, and says what it found, so the
    // refusals keep the contract's order (404 for the chat, then the message, then 403).
    const read = await this.messages.markRead(chatId, userId, messageId);
    if (!read.chat) throw notFound('chat');
    if (read.seq === null) throw notFound('message');
    if (!read.role) throw notParticipant();
    // Blocked by the other side of a direct chat: the mark moves, but the blocker is not told.
    if (read.moved && !read.silenced) {
      this.events.publish({ type: 'MessageRead', chatId, messageId, userId, seq: read.seq });
    }
  }
}
