import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** timestamptz: a Date comes back from both drivers; we may write a Date or an SQL expression. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<
  Date | null,
  Date | string | null | undefined,
  Date | string | null
>;

export interface UsersTable {
  id: Generated<string>;
  username: string;
  email: string | null;
  display_name: string;
  password_hash: string;
  avatar_url: string | null;
  last_seen_at: NullableTimestamp;
  created_at: Timestamp;
  /** Tokens carry the version they were issued under; bumping it revokes them all. */
  token_version: Generated<number>;
  /** A deleted account keeps its row for its messages' sake and can never sign in. */
  deleted_at: NullableTimestamp;
  /** Bumped with every change to the user's memberships: see ChatsRepository.membershipOf. */
  membership_version: Generated<number>;
}

export interface ChatsTable {
  id: Generated<string>;
  type: 'direct' | 'group';
  name: string | null;
  created_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** The seq of the chat's newest message: the counter the send path bumps. */
  last_seq: Generated<number>;
  /** For direct chats, the two user ids in order, so that racing creations meet on one row. */
  direct_key: string | null;
  /** Bumped under the row lock by every change to the chat's messages (send, edit, delete). */
  version: Generated<number>;
}

export interface ChatParticipantsTable {
  chat_id: string;
  user_id: string;
  role: 'owner' | 'admin' | 'member';
  joined_at: Timestamp;
  last_read_seq: Generated<number>;
  last_read_at: NullableTimestamp;
  /** The participant's own setting: a client does not notify for a muted chat. */
  muted: Generated<boolean>;
}

export interface MessagesTable {
  id: Generated<string>;
  chat_id: string;
  seq: number;
  sender_id: string;
  content: string;
  message_type: 'text' | 'image' | 'file' | 'system';
  client_message_id: string | null;
  created_at: Timestamp;
  edited_at: NullableTimestamp;
  deleted_at: NullableTimestamp;
  /** The chat's version at this message's last change. */
  version: number;
  /** The answered message, of the same chat. */
  reply_to_id: string | null;
  /** Ids of the participants the content names as `@username`. */
  mentions: ColumnType<string[], string[] | undefined, string[]>;
}

export interface MessageReactionsTable {
  message_id: string;
  user_id: string;
  emoji: string;
  /** The chat version at which this emoji first appeared on the message: its place in the list. */
  position: number;
  created_at: Timestamp;
}

export interface MessageEditsTable {
  id: Generated<string>;
  message_id: string;
  /** The content before the edit. */
  content: string;
  /** When this content was replaced. */
  edited_at: Timestamp;
}

export interface MessageReadsTable {
  message_id: string;
  user_id: string;
  read_at: Timestamp;
}

export interface RevokedTokensTable {
  jti: string;
  user_id: string;
  expires_at: Timestamp;
}

export interface UserBlocksTable {
  blocker_id: string;
  blocked_id: string;
  created_at: Timestamp;
}

export interface AttachmentsTable {
  id: Generated<string>;
  uploader_id: string;
  chat_id: string;
  /** Null until sent. */
  message_id: string | null;
  /** Its place among the message's attachments. */
  position: number | null;
  name: string;
  /** Declared at the start over the socket; counted at the end over HTTP (null until then). */
  size: number | null;
  mime: string;
  kind: 'image' | 'file' | null;
  width: number | null;
  height: number | null;
  storage_key: string;
  thumbnail_key: string | null;
  created_at: Timestamp;
  /** Null while bytes are still coming. */
  completed_at: NullableTimestamp;
  /** Its message was deleted: the files and then the row go. */
  discarded_at: NullableTimestamp;
}

export interface DB {
  attachments: AttachmentsTable;
  users: UsersTable;
  chats: ChatsTable;
  chat_participants: ChatParticipantsTable;
  messages: MessagesTable;
  message_edits: MessageEditsTable;
  message_reactions: MessageReactionsTable;
  message_reads: MessageReadsTable;
  revoked_tokens: RevokedTokensTable;
  user_blocks: UserBlocksTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type ChatRow = Selectable<ChatsTable>;
export type ParticipantRow = Selectable<ChatParticipantsTable>;
export type MessageRow = Selectable<MessagesTable>;
