import type { ClientToServerEvents, ServerToClientEvents, UserSummary } from '@parley/protocol';
import type { Server, Socket } from 'socket.io';

/** Rooms and broadcasts only, for now; the Redis adapter adds server-to-server events. */
export type InterServerEvents = Record<string, never>;

export interface SocketData {
  /** The authenticated user, as messages carry them: sends need no further query. */
  user: UserSummary;
  /** When the handshake's token expires: the socket is disconnected then. */
  expiresAt: Date;
  /** The handshake token's `jti`: the socket sits in its `session:` room. */
  tokenId: string;
  /** RoomMoves' count for the user when the handshake read its chats. */
  movesAtHandshake: number;
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
