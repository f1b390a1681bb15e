import { chatRoom, isChatRoom } from '@parley/protocol';
import type { ParleySocket } from './types.js';

/** A user's chats, and the membership version they were read under (one snapshot). */
export interface MembershipRead {
  version: number;
  chatIds: string[];
}

/**
 * Puts a connected socket in exactly the rooms of its user's chats. A membership change that
 * commits while the chats are read, on any process, moves the user's connected sockets; one that
 * lands before this socket counted as connected (or before the read) shows as a moved version,
 * and the chats are read again. A change after the last read reaches the socket by itself.
 */
export async function syncChatRooms(
  socket: ParleySocket,
  read: () => Promise<MembershipRead>,
  currentVersion: () => Promise<number>,
): Promise<RoomChanges> {
  const before = new Set([...socket.rooms].filter(isChatRoom));
  for (;;) {
    const { version, chatIds } = await read();
    if (socket.disconnected) return { joined: [], left: [] };
    joinOnlyChats(socket, chatIds);
    socket.data.membershipVersion = version;
    if ((await currentVersion()) !== version) continue;
    const after = new Set(chatIds.map(chatRoom));
    return {
      joined: chatIds.filter((id) => !before.has(chatRoom(id))),
      left: [...before].filter((room) => !after.has(room)).map(chatIdOf),
    };
  }
}

/** The chats a socket entered and left, by id. */
export interface RoomChanges {
  joined: string[];
  left: string[];
}

const chatIdOf = (room: `chat:${string}`): string => room.slice(chatRoom('').length);

/** Puts the socket in the rooms of exactly these chats, out of any other chat's room. */
export function joinOnlyChats(socket: ParleySocket, chatIds: readonly string[]): void {
  const wanted = new Set(chatIds.map(chatRoom));
  for (const room of socket.rooms) {
    if (isChatRoom(room) && !wanted.has(room)) void socket.leave(room);
  }
  void socket.join([...wanted]);
}
