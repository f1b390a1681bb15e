import type { Message, UserSummary } from '@parley/protocol';

/** Both drivers give Date for timestamptz; the wire wants ISO 8601 in UTC. */
export const iso = (d: Date | string): string =>
  (typeof d === 'string' ? new Date(d) : d).toISOString();
export const isoOrNull = (d: Date | string | null): string | null => (d === null ? null : iso(d));

export interface MessageRecord {
  id: string;
  chat_id: string;
  seq: number;
  sender_id: string;
  content: string;
  message_type: Message['message_type'];
  client_message_id: string | null;
  created_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
}

export const toMessage = (row: MessageRecord, sender: UserSummary): Message => ({
  id: row.id,
  chat_id: row.chat_id,
  seq: row.seq,
  sender_id: row.sender_id,
  // Built field by field: whatever row the caller holds, only these four reach the wire.
  sender: {
    id: sender.id,
    username: sender.username,
    display_name: sender.display_name,
    avatar_url: sender.avatar_url,
  },
  content: row.content,
  message_type: row.message_type,
  client_message_id: row.client_message_id,
  created_at: iso(row.created_at),
  edited_at: isoOrNull(row.edited_at),
  deleted_at: isoOrNull(row.deleted_at),
});
