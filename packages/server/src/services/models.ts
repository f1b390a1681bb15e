import type { Role } from '@parley/protocol';

/**
 * A user as services and routes know them. The password hash is not here on purpose: it leaves
 * UsersRepository only through the methods that sign-in and password confirmation call, so no
 * request, socket or log ever carries it.
 */
export interface Account {
  id: string;
  username: string;
  displayName: string;
  email: string | null;
  avatarUrl: string | null;
  createdAt: Date;
  lastSeenAt: Date | null;
  /** A deleted account keeps its row for its messages' sake and can never sign in. */
  deletedAt: Date | null;
  /** Tokens carry the version they were issued under; a token of an older one is refused. */
  tokenVersion: number;
  /** Moves with every change to the account's memberships (see ChatsRepository.membershipOf). */
  membershipVersion: number;
}

/** An account's place in one chat. */
export interface ChatParticipant {
  chatId: string;
  role: Role;
  joinedAt: Date;
  lastReadSeq: number;
  lastReadAt: Date | null;
  /** The participant's own setting: clients do not notify for a muted chat. */
  muted: boolean;
  /** Messages above the read mark that mention this participant. */
  unreadMentions: number;
  account: Account;
}

/** A chat's own fields, without its participants or messages. */
export interface ChatRecord {
  id: string;
  type: 'direct' | 'group';
  name: string | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}
