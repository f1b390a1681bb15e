import { z } from 'zod';
import { Chat } from '../models/chat.js';
import { ClientMessageType, Message } from '../models/message.js';
import { emoji, id, label, messageText, text } from '../primitives.js';

export const CreateChatRequest = z.discriminatedUnion('type', [
  z.object({ type: z.literal('direct'), userId: id() }),
  z.object({
    type: z.literal('group'),
    name: label(1, 100),
    participantIds: z.array(id()).max(256),
  }),
]);
export type CreateChatRequest = z.infer<typeof CreateChatRequest>;

/** A page size: plain decimal digits only, no hex, exponents, signs or spaces slipping through a coercion. */
const pageLimit = (fallback: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number')
    .default(String(fallback))
    .transform(Number)
    .pipe(z.number().int().min(1).max(max));

export const CHAT_PAGE_DEFAULT = 100;
export const CHAT_PAGE_MAX = 200;

export const ChatListQuery = z.object({
  limit: pageLimit(CHAT_PAGE_DEFAULT, CHAT_PAGE_MAX),
  /** Opaque: the `next_cursor` of the page before. */
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,200}$/, 'must be a next_cursor this server gave')
    .optional(),
});
export type ChatListQuery = z.infer<typeof ChatListQuery>;

export const ChatListResponse = z.object({
  chats: z.array(Chat),
  /** Asks for the next page; `null` at the end. */
  next_cursor: z.string().nullable(),
});
export type ChatListResponse = z.infer<typeof ChatListResponse>;

export const ChatParams = z.object({ chatId: id() });
export const ParticipantParams = z.object({ chatId: id(), userId: id() });

export const AddParticipantRequest = z.object({ userId: id() });
export const RenameChatRequest = z.object({ name: label(1, 100) });
export const ChangeRoleRequest = z.object({ role: z.enum(['admin', 'member']) });

/** A message holds at most this many attachments. */
export const MESSAGE_ATTACHMENTS_MAX = 10;

/** The fields of a send, REST body and socket payload alike (the socket's adds `chatId`). */
export const sendMessageFields = {
  /** 1 to 4000 characters once trimmed; may be empty when the send carries attachments. */
  content: messageText(),
  messageType: ClientMessageType.optional(),
  clientMessageId: text(1, 64).optional(),
  /** The answered message: one of the same chat, else not_found. */
  replyToId: id().optional(),
  /** 1 to 10 attachments the sender uploaded to this chat and has not sent yet, each once. */
  attachmentIds: z
    .array(id())
    .min(1)
    .max(MESSAGE_ATTACHMENTS_MAX)
    .refine((ids) => new Set(ids).size === ids.length, { message: 'must not repeat an id' })
    .optional(),
};

/** The rules across fields of a send: what empty content and `image`/`file` need. */
export const checkSend = (
  send: {
    content: string;
    messageType?: string | undefined;
    attachmentIds?: unknown[] | undefined;
  },
  ctx: z.RefinementCtx,
): void => {
  if (send.attachmentIds) return;
  if (send.content.trim().length === 0)
    ctx.addIssue({ code: 'custom', path: ['content'], message: 'must not be empty' });
  if (send.messageType === 'image' || send.messageType === 'file')
    ctx.addIssue({
      code: 'custom',
      path: ['messageType'],
      message: 'image and file messages carry attachmentIds',
    });
};

export const SendMessageRequest = z.object(sendMessageFields).superRefine(checkSend);
export type SendMessageRequest = z.infer<typeof SendMessageRequest>;

export const MESSAGE_PAGE_DEFAULT = 50;
export const MESSAGE_PAGE_MAX = 100;

export const MessagePageQuery = z
  .object({
    before: id().optional(),
    after: id().optional(),
    limit: pageLimit(MESSAGE_PAGE_DEFAULT, MESSAGE_PAGE_MAX),
  })
  .refine((q) => !(q.before && q.after), { message: 'before and after cannot be combined' });
export type MessagePageQuery = z.infer<typeof MessagePageQuery>;

export const MessagePage = z.object({ messages: z.array(Message), has_more: z.boolean() });
export type MessagePage = z.infer<typeof MessagePage>;

export const MessageParams = z.object({ chatId: id(), messageId: id() });

/** Content as for a send: empty only for a message with attachments, which the server checks. */
export const EditMessageRequest = z.object({ content: messageText() });
export type EditMessageRequest = z.infer<typeof EditMessageRequest>;

export const MessageEdit = z.object({
  content: z.string(),
  /** When this content was replaced by the next. */
  edited_at: z.string(),
});
export const MessageEdits = z.object({ edits: z.array(MessageEdit) });
export type MessageEdits = z.infer<typeof MessageEdits>;

export const CHANGES_PAGE_DEFAULT = 200;
export const CHANGES_PAGE_MAX = 500;

export const ChangesQuery = z.object({
  /** The chat version the client holds: plain decimal digits, as the page limits. */
  since: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a whole number')
    .transform(Number),
  limit: pageLimit(CHANGES_PAGE_DEFAULT, CHANGES_PAGE_MAX),
});
export type ChangesQuery = z.infer<typeof ChangesQuery>;

export const ChangesPage = z.object({
  /** Every message changed after `since`, tombstones included, in version order. */
  messages: z.array(Message),
  /** The last version returned, or `since` when none. */
  version: z.number().int(),
  has_more: z.boolean(),
});
export type ChangesPage = z.infer<typeof ChangesPage>;

/** `PUT`/`DELETE .../reactions/:emoji`: the emoji comes URL-encoded in the path. */
export const ReactionParams = z.object({ chatId: id(), messageId: id(), emoji: emoji() });
export type ReactionParams = z.infer<typeof ReactionParams>;

/** At most this many distinct emoji on one message. */
export const REACTIONS_PER_MESSAGE_MAX = 20;

export const ChatSettingsRequest = z.object({ muted: z.boolean() });
export type ChatSettingsRequest = z.infer<typeof ChatSettingsRequest>;

export const SEARCH_PAGE_DEFAULT = 20;
export const SEARCH_PAGE_MAX = 50;

export const SearchQuery = z.object({
  /** Every word must match: a prefix of a word, or a substring in scripts without spaces. */
  q: text(1, 200).refine((s) => s.trim().length > 0, { message: 'must not be only whitespace' }),
  chatId: id().optional(),
  /** A message id: the next page, older than it. */
  before: id().optional(),
  limit: pageLimit(SEARCH_PAGE_DEFAULT, SEARCH_PAGE_MAX),
});
export type SearchQuery = z.infer<typeof SearchQuery>;

export const SearchPage = z.object({ messages: z.array(Message), has_more: z.boolean() });
export type SearchPage = z.infer<typeof SearchPage>;
