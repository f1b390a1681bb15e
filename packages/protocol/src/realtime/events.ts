import { z } from 'zod';
import { ErrorBody } from '../errors.js';
import { checkSend, EditMessageRequest, sendMessageFields } from '../http/chats.js';
import {
  UploadChunkPayload,
  UploadRef,
  UploadStartPayload,
  type UploadChunkAck,
  type UploadFinishAck,
  type UploadStartAck,
} from '../http/uploads.js';
import type { Chat } from '../models/chat.js';
import type { Message } from '../models/message.js';
import { PresenceStatus } from '../models/user.js';
import { emoji, id, isoTime } from '../primitives.js';
import {
  CallAnswerPayload,
  CallCandidatePayload,
  CallInvitePayload,
  CallRef,
  type CallAnsweredEvent,
  type CallCandidateEvent,
  type CallEndedEvent,
  type CallIncomingEvent,
} from './calls.js';

// ---- client → server payloads -------------------------------------------------------------

export const ChatRef = z.object({ chatId: id() });
export type ChatRef = z.infer<typeof ChatRef>;

export const MessageSendPayload = z
  .object({ ...sendMessageFields, chatId: id() })
  .superRefine(checkSend);
export type MessageSendPayload = z.infer<typeof MessageSendPayload>;

export const MessageReadPayload = z.object({ messageId: id(), chatId: id() });
export type MessageReadPayload = z.infer<typeof MessageReadPayload>;

export const MessageEditPayload = EditMessageRequest.extend({ chatId: id(), messageId: id() });
export type MessageEditPayload = z.infer<typeof MessageEditPayload>;

export const MessageDeletePayload = z.object({ chatId: id(), messageId: id() });
export type MessageDeletePayload = z.infer<typeof MessageDeletePayload>;

export const ReactionPayload = z.object({ chatId: id(), messageId: id(), emoji: emoji() });
export type ReactionPayload = z.infer<typeof ReactionPayload>;

// ---- server → client payloads -------------------------------------------------------------

export const UserStatusEvent = z.object({
  userId: id(),
  status: PresenceStatus,
  lastSeenAt: isoTime().optional(),
});
export type UserStatusEvent = z.infer<typeof UserStatusEvent>;

export const TypingStartEvent = z.object({ chatId: id(), userId: id(), username: z.string() });
export type TypingStartEvent = z.infer<typeof TypingStartEvent>;

export const TypingStopEvent = z.object({ chatId: id(), userId: id() });
export type TypingStopEvent = z.infer<typeof TypingStopEvent>;

export const MessageReadEvent = z.object({
  messageId: id(),
  userId: id(),
  chatId: id(),
  seq: z.number().int(),
});
export type MessageReadEvent = z.infer<typeof MessageReadEvent>;

export const MessageDeletedEvent = z.object({
  chatId: id(),
  messageId: id(),
  seq: z.number().int(),
  version: z.number().int(),
  deletedAt: isoTime(),
});
export type MessageDeletedEvent = z.infer<typeof MessageDeletedEvent>;

export const ReactionUpdatedEvent = z.object({
  chatId: id(),
  messageId: id(),
  emoji: z.string(),
  userId: id(),
  op: z.enum(['add', 'remove']),
  /** How many users keep this emoji on the message now. */
  count: z.number().int(),
  version: z.number().int(),
});
export type ReactionUpdatedEvent = z.infer<typeof ReactionUpdatedEvent>;

export const ChatRemovedEvent = z.object({ chatId: id() });
export type ChatRemovedEvent = z.infer<typeof ChatRemovedEvent>;

export const ErrorEvent = z.object({ message: z.string(), code: ErrorBody.shape.code });
export type ErrorEvent = z.infer<typeof ErrorEvent>;

// ---- acknowledgements ---------------------------------------------------------------------

/** `received` rides on an upload's `conflict`: where the client must go on from. */
export type AckFailure = { ok: false; error: ErrorBody; received?: number };
export type Ack<T extends object = object> = ({ ok: true } & T) | AckFailure;
export type AckCallback<T extends object = object> = (response: Ack<T>) => void;

/**
 * Typed for socket.io's generics. The payload is `unknown` on purpose: types are no validation,
 * every handler parses what arrives with the schema above.
 */
export interface ClientToServerEvents {
  'chat:join': (payload: ChatRef, ack?: AckCallback) => void;
  'chat:leave': (payload: ChatRef, ack?: AckCallback) => void;
  'message:send': (payload: MessageSendPayload, ack?: AckCallback<{ message: Message }>) => void;
  'message:read': (payload: MessageReadPayload, ack?: AckCallback) => void;
  'message:edit': (payload: MessageEditPayload, ack?: AckCallback<{ message: Message }>) => void;
  'message:delete': (payload: MessageDeletePayload, ack?: AckCallback) => void;
  'reaction:add': (payload: ReactionPayload, ack?: AckCallback) => void;
  'reaction:remove': (payload: ReactionPayload, ack?: AckCallback) => void;
  'typing:start': (payload: ChatRef, ack?: AckCallback) => void;
  'typing:stop': (payload: ChatRef, ack?: AckCallback) => void;
  'call:invite': (payload: CallInvitePayload, ack?: AckCallback) => void;
  'call:answer': (payload: CallAnswerPayload, ack?: AckCallback) => void;
  'call:candidate': (payload: CallCandidatePayload, ack?: AckCallback) => void;
  'call:reject': (payload: CallRef, ack?: AckCallback) => void;
  'call:hangup': (payload: CallRef, ack?: AckCallback) => void;
  'upload:start': (payload: UploadStartPayload, ack?: AckCallback<UploadStartAck>) => void;
  'upload:chunk': (payload: UploadChunkPayload, ack?: AckCallback<UploadChunkAck>) => void;
  'upload:status': (payload: UploadRef, ack?: AckCallback<UploadChunkAck>) => void;
  'upload:finish': (payload: UploadRef, ack?: AckCallback<UploadFinishAck>) => void;
}

export interface ServerToClientEvents {
  'message:new': (message: Message) => void;
  'user:status': (event: UserStatusEvent) => void;
  'typing:start': (event: TypingStartEvent) => void;
  'typing:stop': (event: TypingStopEvent) => void;
  'message:read': (event: MessageReadEvent) => void;
  'message:updated': (message: Message) => void;
  'message:deleted': (event: MessageDeletedEvent) => void;
  'reaction:updated': (event: ReactionUpdatedEvent) => void;
  'chat:new': (chat: Chat) => void;
  'chat:updated': (chat: Chat) => void;
  'chat:removed': (event: ChatRemovedEvent) => void;
  'call:incoming': (event: CallIncomingEvent) => void;
  'call:answered': (event: CallAnsweredEvent) => void;
  'call:candidate': (event: CallCandidateEvent) => void;
  'call:ended': (event: CallEndedEvent) => void;
  error: (event: ErrorEvent) => void;
}

/** The inbound schema of every client event, so a handler cannot forget to parse. */
export const clientEventSchemas = {
  'chat:join': ChatRef,
  'chat:leave': ChatRef,
  'message:send': MessageSendPayload,
  'message:read': MessageReadPayload,
  'message:edit': MessageEditPayload,
  'message:delete': MessageDeletePayload,
  'reaction:add': ReactionPayload,
  'reaction:remove': ReactionPayload,
  'typing:start': ChatRef,
  'typing:stop': ChatRef,
  'call:invite': CallInvitePayload,
  'call:answer': CallAnswerPayload,
  'call:candidate': CallCandidatePayload,
  'call:reject': CallRef,
  'call:hangup': CallRef,
  'upload:start': UploadStartPayload,
  'upload:chunk': UploadChunkPayload,
  'upload:status': UploadRef,
  'upload:finish': UploadRef,
} as const satisfies Record<keyof ClientToServerEvents, z.ZodType>;
