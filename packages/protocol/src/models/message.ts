import { z } from 'zod';
import { id, isoTime } from '../primitives.js';
import { UserSummary } from './user.js';

export const MessageType = z.enum(['text', 'image', 'file', 'system']);
export type MessageType = z.infer<typeof MessageType>;

/** What a client may send today; `system` is the server's alone, files come with uploads. */
export const ClientMessageType = z.enum(['text']);

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
});
export type Message = z.infer<typeof Message>;
