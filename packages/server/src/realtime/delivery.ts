import { chatRoom, sessionRoom, userRoom } from '@parley/protocol';
import type { DomainEvent, DomainEvents } from '../services/events.js';
import type { ParleyServer } from './types.js';

export interface SocketDelivery extends DomainEvents {
  /**
   * How many events that move sockets between rooms or disconnect them this process has
   * delivered: a handshake during which none was has missed none (gateway.ts).
   */
  moves(): number;
}

/**
 * Turns what happened into room moves and the contract's events. Every call goes through the
 * Socket.IO adapter, so with REDIS_URL it reaches the sockets of every process, in the order
 * published (one Redis stream): a move into a room lands before any message sent after it.
 */
export function socketDelivery(io: ParleyServer): SocketDelivery {
  let moves = 0;
  return {
    publish: (event) => {
      if (MAY_MOVE[event.type]) moves++;
      deliver(io, event);
    },
    moves: () => moves,
  };
}

/**
 * The events whose delivery may move sockets between rooms or disconnect them, not only tell
 * them. Every event type must say (a new one that moves sockets and is not counted would let a
 * handshake miss its move): counting one that moves nothing only costs a connect a read.
 */
const MAY_MOVE: Record<DomainEvent['type'], boolean> = {
  MessageCreated: false,
  MessageUpdated: false,
  ReactionUpdated: false,
  MessageDeleted: false,
  MessageRead: false,
  MembershipChanged: true,
  ChatChanged: true, // the move of an added user undone, when a removal overtook it
  TypingChanged: false,
  PresenceChanged: false,
  CallRinging: false,
  CallAnswered: false,
  CallCandidate: false,
  CallEnded: false,
  SessionsRevoked: true,
};

function deliver(io: ParleyServer, event: DomainEvent): void {
  switch (event.type) {
    case 'MessageCreated':
      io.to(chatRoom(event.message.chat_id)).emit('message:new', event.message);
      return;
    case 'MessageUpdated':
      io.to(chatRoom(event.message.chat_id)).emit('message:updated', event.message);
      return;
    case 'ReactionUpdated': {
      const { chatId, messageId, emoji, userId, op, count, version } = event;
      io.to(chatRoom(chatId)).emit('reaction:updated', {
        chatId,
        messageId,
        emoji,
        userId,
        op,
        count,
        version,
      });
      return;
    }
    case 'MessageDeleted': {
      const { chatId, messageId, seq, version, deletedAt } = event;
      io.to(chatRoom(chatId)).emit('message:deleted', {
        chatId,
        messageId,
        seq,
        version,
        deletedAt,
      });
      return;
    }
    case 'MessageRead': {
      const { chatId, messageId, userId, seq } = event;
      io.to(chatRoom(chatId)).emit('message:read', { messageId, userId, chatId, seq });
      return;
    }
    case 'MembershipChanged': {
      const room = chatRoom(event.chatId);
      for (const id of event.added) io.in(userRoom(id)).socketsJoin(room);
      for (const id of event.removed) {
        io.in(userRoom(id)).socketsLeave(room);
        io.to(userRoom(id)).emit('chat:removed', { chatId: event.chatId });
      }
      return;
    }
    case 'ChatChanged':
      for (const id of event.added) {
        // Added, then removed before the views were read: the move out may have come before the
        // move in, so the move in is undone.
        if (!event.views.has(id)) io.in(userRoom(id)).socketsLeave(chatRoom(event.chatId));
      }
      for (const [id, chat] of event.views) {
        io.to(userRoom(id)).emit(event.added.includes(id) ? 'chat:new' : 'chat:updated', chat);
      }
      return;
    case 'TypingChanged': {
      // To the others: none of the typist's own sockets, other tabs included.
      const others = io.to(chatRoom(event.chatId)).except(userRoom(event.userId));
      if (event.typing) {
        const { chatId, userId, username } = event;
        others.emit('typing:start', { chatId, userId, username });
      } else {
        others.emit('typing:stop', { chatId: event.chatId, userId: event.userId });
      }
      return;
    }
    case 'PresenceChanged': {
      if (event.contactIds.length === 0) return;
      const { userId, status, lastSeenAt } = event;
      io.to(event.contactIds.map(userRoom)).emit(
        'user:status',
        lastSeenAt ? { userId, status, lastSeenAt } : { userId, status },
      );
      return;
    }
    case 'CallRinging':
      io.to(userRoom(event.calleeId)).emit('call:incoming', event.call);
      return;
    case 'CallAnswered': {
      // A socket's id is its own room: the adapter finds it on whichever process holds it.
      const { callId, sdp, callerSocket, calleeId, calleeSocket } = event;
      io.to(callerSocket).emit('call:answered', { callId, sdp });
      io.to(userRoom(calleeId))
        .except(calleeSocket)
        .emit('call:ended', { callId, reason: 'answered_elsewhere' });
      for (const candidate of event.candidates) {
        io.to(calleeSocket).emit('call:candidate', { callId, candidate });
      }
      return;
    }
    case 'CallCandidate':
      io.to(event.to).emit('call:candidate', { callId: event.callId, candidate: event.candidate });
      return;
    case 'CallEnded': {
      const rooms = [...event.userIds.map(userRoom), ...event.socketIds];
      if (rooms.length === 0) return;
      const to = io.to(rooms);
      (event.exceptSocket ? to.except(event.exceptSocket) : to).emit('call:ended', {
        callId: event.callId,
        reason: event.reason,
      });
      return;
    }
    case 'SessionsRevoked':
      io.in(event.tokenId ? sessionRoom(event.tokenId) : userRoom(event.userId)).disconnectSockets(
        true,
      );
      return;
  }
}
