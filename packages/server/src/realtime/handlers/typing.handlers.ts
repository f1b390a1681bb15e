import { chatRoom } from '@parley/protocol';
import type { Services } from '../../services/index.js';
import type { Typist } from '../../services/typing.service.js';
import type { Handlers } from '../handle.js';
import type { ParleySocket } from '../types.js';

const typistOf = (socket: ParleySocket): Typist => ({
  user: socket.data.user,
  socketId: socket.id,
  isLive: () => socket.connected,
  // In the chat's room: only participants are there, and a removal takes the sockets out.
  knownParticipant: (chatId) => socket.rooms.has(chatRoom(chatId)),
});

export function typingHandlers(services: Services): Pick<Handlers, 'typing:start' | 'typing:stop'> {
  return {
    'typing:start': async ({ chatId }, socket) => {
      await services.typing.start(chatId, typistOf(socket));
    },
    'typing:stop': async ({ chatId }, socket) => {
      await services.typing.stop(chatId, typistOf(socket));
    },
  };
}
