import type {
  Chat,
  Message,
  MessageReadEvent,
  TypingStartEvent,
  TypingStopEvent,
  UserStatusEvent,
} from '@parley/protocol';

/**
 * What the services tell connected clients. The realtime gateway implements it over Socket.IO,
 * so the rules never import socket.io and HTTP calls reach live sockets the same way events do.
 */
export interface Broadcaster {
  messageNew(message: Message): void;
  messageRead(event: MessageReadEvent): void;
  typingStart(event: TypingStartEvent): void;
  typingStop(event: TypingStopEvent): void;
  userStatus(recipientIds: readonly string[], event: UserStatusEvent): void;
  /**
   * Moves the user's live sockets into (or out of) the chat's room. Called right after the
   * membership change commits, so that no message sent after it is missed.
   */
  enterChat(userId: string, chatId: string): void;
  leaveChat(userId: string, chatId: string): void;
  /** Announces a chat the user is now in (their sockets already entered its room). */
  chatNew(userId: string, chat: Chat): void;
  chatUpdated(userId: string, chat: Chat): void;
  /** Takes the user's live sockets out of the chat's room, then sends them `chat:removed`. */
  chatRemoved(userId: string, chatId: string): void;
  /**
   * Disconnects the sockets of a revoked session: those opened with the token `tokenId`, or
   * every socket of the user when no token is named (password change, sign out everywhere).
   */
  endSessions(userId: string, tokenId?: string): void;
}

/** Who is online: counts sockets per user, so a second tab announces nothing. */
export interface PresenceStore {
  /** True when this is the user's first socket: they just came online. */
  connect(userId: string, socketId: string): Promise<boolean>;
  /** True when this was the user's last socket: they just went offline. */
  disconnect(userId: string, socketId: string): Promise<boolean>;
  onlineAmong(userIds: readonly string[]): Promise<Set<string>>;
  /**
   * Takes one of the user's `max` socket places for `socketId` (all processes together), as one
   * atomic step so that racing handshakes cannot exceed it; false when every place is taken.
   * Taken during the handshake, before the socket counts as connected.
   */
  claimPlace(userId: string, socketId: string, max: number): Promise<boolean>;
  /** Gives the place back; harmless when `socketId` holds none (it may be called twice). */
  releasePlace(userId: string, socketId: string): Promise<void>;
}

/** Who is typing where, with expiry. */
export interface TypingStore {
  /**
   * Starts or renews; `onExpire` runs if no renewal or stop comes within the timeout. True when
   * the user was not typing there already (a renewal is no news to the others).
   */
  start(chatId: string, userId: string, socketId: string, onExpire: () => void): boolean;
  /** Pushes back the expiry of the user's indicator there, now `socketId`'s; false if none. */
  renew(chatId: string, userId: string, socketId: string): boolean;
  /** True when the user was typing there. */
  stop(chatId: string, userId: string): boolean;
  /** Ends every entry the socket started; returns them, for the `typing:stop` broadcasts. */
  dropSocket(socketId: string): { chatId: string; userId: string }[];
  clear(): void;
}

/** Counts attempts per key; throws `rate_limited` once the allowance is spent. */
export interface RateLimiter {
  consume(key: string): Promise<void>;
}

/** A RateLimiter that counts failures only: an attempt that succeeds is given back. */
export interface FailureLimiter extends RateLimiter {
  refund(key: string): Promise<void>;
}
