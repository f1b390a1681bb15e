import type {
  CallEndReason,
  CallIncomingEvent,
  Chat,
  IceCandidate,
  Message,
} from '@parley/protocol';

/**
 * What happened, published by the services after the commit that made it true. The services know
 * nothing of rooms or sockets: realtime/delivery.ts subscribes and turns each event into room
 * moves and the contract's socket events, on whichever process holds the recipients' sockets.
 */
export type DomainEvent =
  | { type: 'MessageCreated'; message: Message }
  /** An edit: the message as it now is. */
  | { type: 'MessageUpdated'; message: Message }
  /** A tombstone left in place of the message. */
  | {
      type: 'MessageDeleted';
      chatId: string;
      messageId: string;
      seq: number;
      version: number;
      deletedAt: string;
    }
  /** One user's emoji added to or removed from a message; `count` is how many keep it now. */
  | {
      type: 'ReactionUpdated';
      chatId: string;
      messageId: string;
      emoji: string;
      userId: string;
      op: 'add' | 'remove';
      count: number;
      version: number;
    }
  | { type: 'MessageRead'; chatId: string; messageId: string; userId: string; seq: number }
  /** Users who joined or left the chat's membership (their sockets must follow). */
  | {
      type: 'MembershipChanged';
      chatId: string;
      added: readonly string[];
      removed: readonly string[];
    }
  /**
   * The chat as each participant now sees it (`views`, by user id); `added` are the participants
   * who learn of it for the first time. An added user missing from `views` was removed meanwhile.
   */
  | {
      type: 'ChatChanged';
      chatId: string;
      views: ReadonlyMap<string, Chat>;
      added: readonly string[];
    }
  | { type: 'TypingChanged'; chatId: string; userId: string; typing: true; username: string }
  | { type: 'TypingChanged'; chatId: string; userId: string; typing: false }
  /** Told to `contactIds`, the users who share a chat with `userId`. */
  | {
      type: 'PresenceChanged';
      userId: string;
      contactIds: readonly string[];
      status: 'online' | 'offline';
      lastSeenAt?: string;
    }
  /** A revoked token (`tokenId`) or every session of the user ends now. */
  | { type: 'SessionsRevoked'; userId: string; tokenId?: string }
  /** A call rings at every socket of `calleeId`. */
  | { type: 'CallRinging'; calleeId: string; call: CallIncomingEvent }
  /**
   * The callee's `calleeSocket` answered: the caller's socket hears the answer, the callee's
   * other sockets stop ringing, and the caller's `candidates` held meanwhile reach the answerer.
   */
  | {
      type: 'CallAnswered';
      callId: string;
      sdp: string;
      callerSocket: string;
      calleeId: string;
      calleeSocket: string;
      candidates: readonly IceCandidate[];
    }
  /** A candidate for the socket `to`, the other party's socket in the call. */
  | { type: 'CallCandidate'; callId: string; candidate: IceCandidate; to: string }
  /**
   * The call is over for `userIds` (every socket of theirs) and `socketIds`, but `exceptSocket`
   * (the one that ended it knows).
   */
  | {
      type: 'CallEnded';
      callId: string;
      reason: CallEndReason;
      userIds: readonly string[];
      socketIds: readonly string[];
      exceptSocket?: string;
    };

/** The one port services publish through. */
export interface DomainEvents {
  publish(event: DomainEvent): void;
}
