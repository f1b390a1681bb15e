import { z } from 'zod';
import { id, isoTime } from '../primitives.js';
import { UserSummary } from './user.js';

export const MessageType = z.enum(['text', 'image', 'file', 'system']);
export type MessageType = z.infer<typeof MessageType>;

/**
 * What a client may name in a send; `system` is the server's alone. A send with attachments takes
 * `image` or `file` from what the attachments are, whatever it names; `image` and `file` without
 * attachments are refused.
 */
export const ClientMessageType = z.enum(['text', 'image', 'file']);

/** The answered message, as a reply shows it. */
export const ReplyPreview = z.object({
  id: id(),
  seq: z.number().int(),
  sender_id: id(),
  /** Its first 200 characters; `""` once deleted. */
  content: z.string(),
  deleted: z.boolean(),
});
export type ReplyPreview = z.infer<typeof ReplyPreview>;

export const Reaction = z.object({
  emoji: z.string(),
  count: z.number().int(),
  user_ids: z.array(id()),
});
export type Reaction = z.infer<typeof Reaction>;

export const AttachmentKind = z.enum(['image', 'file']);
export type AttachmentKind = z.infer<typeof AttachmentKind>;

/**
 * An uploaded file. `kind` is read from its bytes; `width`, `height` (as shown, orientation
 * applied) and `thumbnail_url` are null for files. `url` and `thumbnail_url` are paths under
 * `/api/uploads/` carrying an expiry and a signature (`exp`, `sig`): usable as given (an `<img>`),
 * or with the Authorization header once expired.
 */
export const Attachment = z.object({
  id: id(),
  name: z.string(),
  size: z.number().int(),
  mime: z.string(),
  kind: AttachmentKind,
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  url: z.string(),
  thumbnail_url: z.string().nullable(),
});
export type Attachment = z.infer<typeof Attachment>;

export const Message = z.object({
  id: id(),
  chat_id: id(),
  /** 1, 2, 3, ... per chat, in storage order, with no gaps. */
  seq: z.number().int(),
  sender_id: id(),
  sender: UserSummary,
  content: z.string(),
  message_type: MessageType,
  client_message_id: z.string().nullable(),
  created_at: isoTime(),
  edited_at: isoTime().nullable(),
  deleted_at: isoTime().nullable(),
  /** The chat's version at this message's last change (send, edit, delete). */
  version: z.number().int(),
  reply_to: ReplyPreview.nullable(),
  /** In the order each emoji was first added. */
  reactions: z.array(Reaction),
  /** Ids of the participants the content names as `@username`. */
  mentions: z.array(id()),
  attachments: z.array(Attachment),
});
export type Message = z.infer<typeof Message>;
