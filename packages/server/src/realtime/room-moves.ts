import { chatRoom, userRoom } from '@parley/protocol';
import type { ParleySocket, ParleyServer } from './types.js';

/**
 * Moves a user's live sockets in and out of chat rooms when their membership changes, and counts
 * those moves per user. A socket that reads its memberships from the database can race a move:
 * a socket still in its handshake is skipped by `socketsJoin`, and a read can be older than a move
 * applied meanwhile. Comparing the count before and after tells whether to read again.
 */
export class RoomMoves {
  private readonly moves = new Map<string, number>();

  constructor(private readonly io: ParleyServer) {}

  /** How many moves this user's sockets have seen; compare before and after a membership read. */
  count(userId: string): number {
    return this.moves.get(userId) ?? 0;
  }

  enter(userId: string, chatId: string): void {
    this.bump(userId);
    this.io.in(userRoom(userId)).socketsJoin(chatRoom(chatId));
  }

  leave(userId: string, chatId: string): void {
    this.bump(userId);
    this.io.in(userRoom(userId)).socketsLeave(chatRoom(chatId));
  }

  /**
   * Puts a socket in exactly the rooms of the chats `read()` returns, reading again while moves
   * for its user happen during the read. Any move after that reaches the socket by itself.
   */
  async reconcile(socket: ParleySocket, read: () => Promise<string[]>): Promise<void> {
    const userId = socket.data.user.id;
    for (;;) {
      const before = this.count(userId);
      const wanted = new Set((await read()).map(chatRoom));
      if (socket.disconnected) return;
      if (this.count(userId) !== before) continue;
      for (const room of socket.rooms) {
        if (room.startsWith(chatRoom('')) && !wanted.has(room as `chat:${string}`)) {
          void socket.leave(room);
        }
      }
      void socket.join([...wanted]);
      return;
    }
  }

  private bump(userId: string): void {
    this.moves.set(userId, this.count(userId) + 1);
  }
}
