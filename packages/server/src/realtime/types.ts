import type { ClientToServerEvents, ServerToClientEvents, UserSummary } from '@parley/protocol';
import type { Server, Socket } from 'socket.io';

/** Between processes (REDIS_URL), besides Socket.IO's own rooms and broadcasts. */
export interface InterServerEvents {
  /** A process's Redis came back: what it published meanwhile reached no one; check again. */
  'parley:recheck': () => void;
}

export interface SocketData {
  /** The authenticated user, as messages carry them: sends need no further query. */
  user: UserSummary;
  /** When the handshake's token expires (ms since the epoch): the socket is disconnected then. */
  expiresAt: number;
  /** The handshake token's `jti`: the socket sits in its `session:` room. */
  tokenId: string;
  /** The token version the handshake token was issued under (see recovery.ts). */
  tokenVersion: number;
  /** The user's membership version when the handshake read their chats. */
  membershipVersion: number;
}

export type ParleyServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
export type ParleySocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
