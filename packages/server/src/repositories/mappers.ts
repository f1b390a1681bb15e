import type { Attachment, Message, Reaction, UserSummary } from '@parley/protocol';
import type { UserRow } from '../db/schema.js';
import type { Account } from '../services/models.js';

/** Both drivers give Date for timestamptz; the wire wants ISO 8601 in UTC. */
import { iso, isoOrNull } from '../time.js';

/**
 * The users columns an Account is made of: every one but the password hash, which repositories
 * select only where sign-in or a password confirmation asks for it.
 */
export const ACCOUNT_COLUMNS = [
  'id',
  'username',
  'display_name',
  'email',
  'avatar_url',
  'created_at',
  'last_seen_at',
  'deleted_at',
  'token_version',
  'membership_version',
] as const satisfies readonly (keyof UserRow)[];

/** The same columns of the users table joined as `u`. */
export const ACCOUNT_COLUMNS_U = ACCOUNT_COLUMNS.map((c) => `u.${c}` as const);

export type AccountRow = Pick<UserRow, (typeof ACCOUNT_COLUMNS)[number]>;

export const toAccount = (row: AccountRow): Account => ({
  id: row.id,
  username: row.username,
  displayName: row.display_name,
  email: row.email,
  avatarUrl: row.avatar_url,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  deletedAt: row.deleted_at,
  tokenVersion: row.token_version,
  membershipVersion: row.membership_version,
});

/** An attachment as messages read it; its URLs are signed as it goes out (`AttachmentLinker`). */
export interface AttachmentRecord {
  id: string;
  name: string;
  size: number;
  mime: string;
  kind: 'image' | 'file';
  width: number | null;
  height: number | null;
  /** Whether it has a thumbnail (images do). */
  thumbnail: boolean;
}

/** Turns a stored attachment into the wire object, with fresh signed URLs. */
export type AttachmentLinker = (record: AttachmentRecord) => Attachment;

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
  version: number;
  mentions: string[];
  reactions: Reaction[];
  attachments: AttachmentRecord[];
  /** The answered message's preview: all null when the message answers none. */
  reply_id: string | null;
  reply_seq: number | null;
  reply_sender_id: string | null;
  reply_content: string | null;
  reply_deleted: boolean | null;
}

export const toMessage = (
  row: MessageRecord,
  sender: UserSummary,
  link: AttachmentLinker,
): Message => ({
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
  version: row.version,
  reply_to:
    row.reply_id === null
      ? null
      : {
          id: row.reply_id,
          seq: row.reply_seq ?? 0,
          sender_id: row.reply_sender_id ?? '',
          content: row.reply_content ?? '',
          deleted: row.reply_deleted === true,
        },
  reactions: row.reactions,
  mentions: row.mentions,
  attachments: row.attachments.map(link),
});
