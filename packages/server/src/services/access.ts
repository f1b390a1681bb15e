import type { Role } from '@parley/protocol';
import { forbidden, notFound, validationFailed } from '../errors.js';
import type { ChatAccess, ChatsRepository } from '../repositories/chats.repository.js';
import type { FoundCall } from './ports.js';

/** A chat that exists, and the caller's place in it (`role` null: not a participant). */
export type ChatPlace = NonNullable<ChatAccess>;
/** The place of a participant. */
export type Membership = ChatPlace & { role: Role };

/**
 * Who may do what to a chat: the one module that answers it, in the contract's order. A chat
 * that does not exist is `not_found` before anything else; a chat the caller is not in is
 * `forbidden`, after any other `not_found` of the same call (a message, a target user). Callers
 * that check more in between take the place with `chat` and finish with the checks below.
 */
export class AccessPolicy {
  constructor(private readonly chats: ChatsRepository) {}

  /** The chat exists (else `not_found`); the caller may or may not be in it. */
  async chat(chatId: string, userId: string): Promise<ChatPlace> {
    const place = await this.chats.access(chatId, userId);
    if (!place) throw notFound('chat');
    return place;
  }

  /** Reading, sending, typing, marking read, joining the room: participants only. */
  async participant(chatId: string, userId: string): Promise<Membership> {
    return asParticipant(await this.chat(chatId, userId));
  }

  /** Managing members: a group only (a direct chat has none to manage: `validation_failed`). */
  async group(chatId: string, userId: string): Promise<ChatPlace> {
    const place = await this.chat(chatId, userId);
    if (place.type !== 'group') throw validationFailed('a direct chat has no members to manage');
    return place;
  }

  /**
   * Taking `userId` out of a chat: leaving, which anyone may do from any chat, a direct one too;
   * or removing someone else, which is managing a group's members (a direct chat:
   * `validation_failed`). The chat's place for the actor.
   */
  async remover(chatId: string, actorId: string, userId: string): Promise<ChatPlace> {
    return userId === actorId ? this.chat(chatId, actorId) : this.group(chatId, actorId);
  }

  /** Ringing someone: see asCaller. */
  async caller(chatId: string, userId: string): Promise<Membership> {
    return asCaller(await this.chat(chatId, userId));
  }
}

/** The refusal for a caller who is not (or no longer) a participant of the chat. */
export const notParticipant = () => forbidden('you are not a participant of this chat');

export function asParticipant(place: ChatPlace): Membership {
  if (!place.role) throw notParticipant();
  return { ...place, role: place.role };
}

/** Adding, removing others, renaming: an owner or admin. */
export function asManager(place: ChatPlace): Membership {
  const member = asParticipant(place);
  if (member.role === 'member') throw forbidden('only an owner or admin can do this');
  return member;
}

/**
 * Editing a message: its sender alone, within `windowSeconds` of sending (0: no limit). Past the
 * window it is `forbidden` too: the edit is refused for who and when, not for what it says.
 */
export function asMessageEditor(
  userId: string,
  message: { sender_id: string; created_at: string; message_type: string },
  windowSeconds: number,
  now: Date,
): void {
  if (message.sender_id !== userId) throw forbidden('only the sender can edit a message');
  // A group's line about itself ("Alice added Carol") is the server's record, not its actor's.
  if (message.message_type === 'system') throw forbidden("system messages are the server's alone");
  if (windowSeconds > 0 && now.getTime() - Date.parse(message.created_at) > windowSeconds * 1000) {
    throw forbidden(`messages can be edited for ${windowSeconds} seconds after sending`);
  }
}

/** Deleting a message: its sender, or an owner or admin of a group. */
export function asMessageDeleter(
  member: Membership,
  userId: string,
  message: { sender_id: string },
): void {
  if (message.sender_id === userId) return;
  if (member.type === 'group' && member.role !== 'member') return;
  throw forbidden('only the sender or a group owner or admin can delete a message');
}

/** Changing roles: the owner alone. */
export function asOwner(place: ChatPlace): Membership {
  const member = asParticipant(place);
  if (member.role !== 'owner') throw forbidden('only the owner can change roles');
  return member;
}

/** Removing someone else: never the owner. */
export function assertRemovable(targetRole: Role): void {
  if (targetRole === 'owner') throw forbidden('the owner cannot be removed');
}

/** Bringing people into a chat: refused when any of them blocked the actor. */
export function assertNotBlocked(blockers: readonly string[], named: number): void {
  if (blockers.length === 0) return;
  throw forbidden(
    named === 1
      ? 'this person does not accept chats from you'
      : 'someone you named does not accept chats from you',
  );
}

/** A participant's send that stored nothing: the other side of this direct chat blocked them. */
export const blockedSender = () => forbidden('this person does not accept messages from you');

/**
 * Ringing someone: a participant of a direct chat. A group is `validation_failed` (as managing a
 * direct chat's members is), after `not_found` and before `forbidden`; a caller the other side
 * blocked is `forbidden`.
 */
export function asCaller(place: ChatPlace): Membership {
  if (place.type !== 'direct') throw validationFailed('calls are for direct chats only');
  const member = asParticipant(place);
  if (member.silenced) throw forbidden('this person does not accept calls from you');
  return member;
}

/** Whom a call rings: the direct chat's other participant; with nobody else in it, `forbidden`. */
export function calleeOf(others: readonly string[]): string {
  const [calleeId] = others;
  if (!calleeId) throw forbidden('nobody else is in this chat');
  return calleeId;
}

/**
 * A call's events: its two parties alone. A call id that is unknown is `not_found` first; anyone
 * else's call is `forbidden`.
 */
export function asCallParty(found: FoundCall | undefined, userId: string): FoundCall {
  if (!found) throw notFound('call');
  if (callerOf(found) !== userId && found.calleeId !== userId) {
    throw forbidden('you are not a party to this call');
  }
  return found;
}

/** Answering or declining a call: its callee alone (the caller hangs up instead). */
export function asCallee(
  found: FoundCall | undefined,
  userId: string,
  action: 'answer' | 'decline',
): FoundCall {
  const call = asCallParty(found, userId);
  if (callerOf(call) === userId) throw forbidden(`only the callee can ${action} a call`);
  return call;
}

const callerOf = (found: FoundCall): string =>
  found.state === 'ended' ? found.callerId : found.caller.id;

/** An upload's bytes and its finishing: its uploader alone; anyone else's is `not_found`, as none. */
export function assertUploader(uploaderId: string, userId: string): void {
  if (uploaderId !== userId) throw notFound('upload');
}

/**
 * An attachment's bytes: to anyone with a valid signature for them (`signed`), else to its
 * uploader and, once a message holds it, the participants of its chat now (`viewer_in_chat`).
 * Anyone else hears `not_found`, as for nothing, so that an id says nothing of what exists.
 */
export function asAttachmentViewer<T extends { uploader_id: string; message_id: string | null }>(
  row: (T & { viewer_in_chat: boolean }) | undefined,
  viewerId: string | null,
  signed: boolean,
): T {
  if (!row) throw notFound('attachment');
  if (signed || viewerId === row.uploader_id || (row.message_id !== null && row.viewer_in_chat)) {
    return row;
  }
  throw notFound('attachment');
}
