import { chatRoom } from '@parley/protocol';
import type { Services } from '../../services/index.js';
import type { Typist } from '../../services/typing.service.js';
import { inOrderPerSocket, type Handlers } from '../handle.js';
import type { ParleySocket } from '../types.js';

const typistOf = (socket: ParleySocket): Typist => ({
  user: socket.data.user,
  socketId: socket.id,
  isLive: () => socket.connected,
  // In the chat's room: only participants are there, and a removal takes the sockets out.
  knownParticipant: (chatId) => socket.rooms.has(chatRoom(chatId)),
});

/**
 * A socket's typing events are taken one after another, in the order sent: a client that stops
 * typing as it sends its message emits typing:stop right behind typing:start, and a stop handled
 * before its start finds nothing to stop, leaving an indicator the others never hear end (and a
 * next start only renews it, silently).
 */
export function typingHandlers(services: Services): Pick<Handlers, 'typing:start' | 'typing:stop'> {
  const inOrder = inOrderPerSocket();
  return {
    'typing:start': ({ chatId }, socket) =>
      inOrder(socket, () => services.typing.start(chatId, typistOf(socket))),
    'typing:stop': ({ chatId }, socket) =>
      inOrder(socket, () => services.typing.stop(chatId, typistOf(socket))),
  };
}
