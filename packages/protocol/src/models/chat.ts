import { z } from 'zod';
import { id, isoTime } from '../primitives.js';
import { Message } from './message.js';
import { User } from './user.js';

export const ChatType = z.enum(['direct', 'group']);
export type ChatType = z.infer<typeof ChatType>;

export const Role = z.enum(['owner', 'admin', 'member']);
export type Role = z.infer<typeof Role>;

export const Participant = User.extend({
  role: Role,
  joined_at: isoTime(),
  /** The highest seq this participant has read; 0 for none. */
  last_read_seq: z.number().int(),
  last_read_at: isoTime().nullable(),
  /** Messages above this participant's read mark that mention them. */
  unread_mentions: z.number().int(),
});
export type Participant = z.infer<typeof Participant>;

export const Chat = z.object({
  id: id(),
  type: ChatType,
  name: z.string().nullable(),
  created_by: id(),
  created_at: isoTime(),
  updated_at: isoTime(),
  participants: z.array(Participant),
  last_message: Message.nullable(),
  /** Other people's messages above the caller's read mark. */
  unread_count: z.number().int(),
  /** Bumped by every change to the chat's messages: `changes?since` starts from it. */
  version: z.number().int(),
  /** The caller's own setting: a client does not notify for a muted chat. */
  muted: z.boolean(),
});
export type Chat = z.infer<typeof Chat>;
