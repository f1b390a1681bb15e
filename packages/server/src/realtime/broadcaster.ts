import { chatRoom, sessionRoom, userRoom } from '@parley/protocol';
import type { Broadcaster } from '../services/ports.js';
import type { RoomMoves } from './room-moves.js';
import type { ParleyServer } from './types.js';

/** The services' view of connected clients, over Socket.IO rooms. */
export function socketBroadcaster(io: ParleyServer, rooms: RoomMoves): Broadcaster {
  return {
    messageNew: (message) => io.to(chatRoom(message.chat_id)).emit('message:new', message),
    messageRead: (event) => io.to(chatRoom(event.chatId)).emit('message:read', event),
    // Typing goes to the others: none of the typist's own sockets, other tabs included.
    typingStart: (event) =>
      io.to(chatRoom(event.chatId)).except(userRoom(event.userId)).emit('typing:start', event),
    typingStop: (event) =>
      io.to(chatRoom(event.chatId)).except(userRoom(event.userId)).emit('typing:stop', event),
    userStatus: (recipientIds, event) => {
      if (recipientIds.length > 0) io.to(recipientIds.map(userRoom)).emit('user:status', event);
    },
    enterChat: (userId, chatId) => rooms.enter(userId, chatId),
    leaveChat: (userId, chatId) => rooms.leave(userId, chatId),
    chatNew: (userId, chat) => io.to(userRoom(userId)).emit('chat:new', chat),
    chatUpdated: (userId, chat) => io.to(userRoom(userId)).emit('chat:updated', chat),
    chatRemoved: (userId, chatId) => {
      rooms.leave(userId, chatId);
      io.to(userRoom(userId)).emit('chat:removed', { chatId });
    },
    endSessions: (userId, tokenId) =>
      io.in(tokenId ? sessionRoom(tokenId) : userRoom(userId)).disconnectSockets(true),
  };
}
