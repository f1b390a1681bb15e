import { chatRoom } from '@parley/protocol';
import type { Services } from '../../services/index.js';
import type { Typist } from '../../services/typing.service.js';
import { handle, type HandlerContext } from '../handle.js';
import type { ParleySocket } from '../types.js';

export function registerTypingHandlers(
  socket: ParleySocket,
  ctx: HandlerContext,
  services: Services,
): void {
  const typist: Typist = {
    user: socket.data.user,
    socketId: socket.id,
    isLive: () => socket.connected,
    // In the chat's room: only participants are there, and a removal takes the sockets out.
    knownParticipant: (chatId) => socket.rooms.has(chatRoom(chatId)),
  };

  handle(socket, ctx, 'typing:start', async ({ chatId }) => {
    await services.typing.start(chatId, typist);
  });

  handle(socket, ctx, 'typing:stop', async ({ chatId }) => {
    await services.typing.stop(chatId, typist);
  });
}
