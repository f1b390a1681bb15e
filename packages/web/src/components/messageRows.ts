// The list's rows and what they show around them: pure functions of the chat and its messages.
import type { Chat, Message, ReplyPreview } from '@parley/protocol';
import { myReadSeq, seenBy, type Outgoing } from '../state.js';
import type { Row } from './MessageItem.js';

/** A reply still on its way quotes the answered message as held here. */
function previewOf(messages: readonly Message[], id: string): ReplyPreview | null {
  const m = messages.find((x) => x.id === id);
  if (!m) return null;
  const deleted = m.deleted_at !== null;
  return { id, seq: m.seq, sender_id: m.sender_id, content: deleted ? '' : m.content, deleted };
}

export function toRows(
  messages: readonly Message[],
  outgoing: readonly Outgoing[],
  meId: string,
): Row[] {
  const stored: Row[] = messages.map((m) => ({
    key: m.id,
    message: m,
    senderId: m.sender_id,
    senderName: m.sender.display_name,
    senderHandle: m.sender.username,
    content: m.content,
    createdAt: m.created_at,
    system: m.message_type === 'system',
    seq: m.seq,
    reply: m.reply_to,
    pending: null,
  }));
  const unsent: Row[] = outgoing.map((o) => ({
    key: o.clientMessageId,
    message: null,
    senderId: meId,
    senderName: 'You',
    senderHandle: '',
    content: o.content,
    createdAt: o.createdAt,
    system: false,
    seq: null,
    reply: o.replyToId ? previewOf(messages, o.replyToId) : null,
    pending: o,
  }));
  return [...stored, ...unsent];
}

/** Display names by user id: the chat's members, and the senders of held messages who left. */
export function namesOf(chat: Chat, messages: readonly Message[]): (userId: string) => string {
  const names = new Map<string, string>();
  for (const m of messages) names.set(m.sender_id, m.sender.display_name);
  for (const p of chat.participants) names.set(p.id, p.display_name);
  return (userId) => names.get(userId) ?? 'a former member';
}

/** Which of one's own messages carry a receipt, and what it says. */
export function receipts(rows: readonly Row[], chat: Chat, meId: string): Map<string, string> {
  const result = new Map<string, string>();
  const own = rows.filter((r) => r.senderId === meId && r.seq !== null && !r.system);
  const newest = own.at(-1);
  const seen = [...own].reverse().find((r) => seenBy(chat, r.seq ?? 0, meId) > 0);
  if (seen) {
    const n = seenBy(chat, seen.seq ?? 0, meId);
    result.set(seen.key, chat.type === 'group' ? `Seen by ${n}` : 'Seen');
  }
  if (newest && newest !== seen) result.set(newest.key, 'Sent');
  return result;
}

/** My read mark as it was when the chat was opened, if anything above it was unread then. */
export const unreadMarkAtOpen = (chat: Chat, meId: string): number | null =>
  chat.unread_count > 0 ? myReadSeq(chat, meId) : null;
