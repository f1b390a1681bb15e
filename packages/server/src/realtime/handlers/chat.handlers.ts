import { chatRoom } from '@parley/protocol';
import type { Services } from '../../services/index.js';
import { handle, type HandlerContext } from '../handle.js';
import type { ParleySocket } from '../types.js';

/** chat:join and chat:leave move this socket only; membership is the HTTP API's business. */
export function registerChatHandlers(
  socket: ParleySocket,
  ctx: HandlerContext,
  services: Services,
): void {
  const user = socket.data.user;

  handle(socket, ctx, 'chat:join', async ({ chatId }) => {
    await services.chats.requireParticipant(chatId, user.id);
    await socket.join(chatRoom(chatId));
  });

  // An unknown chat or one the user is not in is refused like any other bad input.
  handle(socket, ctx, 'chat:leave', async ({ chatId }) => {
    await services.chats.requireParticipant(chatId, user.id);
    await socket.leave(chatRoom(chatId));
  });
}
