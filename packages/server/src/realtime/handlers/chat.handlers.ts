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
    const { membershipVersion } = await services.access.participant(chatId, user.id);
    await socket.join(chatRoom(chatId));
    // A removal (on any process) that moved this user's sockets out while we checked would be
    // undone by the join: if the version moved, check again and step out if it no longer belongs.
    if ((await services.chats.membershipVersion(user.id)) !== membershipVersion) {
      try {
        await services.access.participant(chatId, user.id);
      } catch (err) {
        await socket.leave(chatRoom(chatId));
        throw err;
      }
    }
  });

  // An unknown chat or one the user is not in is refused like any other bad input.
  handle(socket, ctx, 'chat:leave', async ({ chatId }) => {
    await services.access.participant(chatId, user.id);
    await socket.leave(chatRoom(chatId));
  });
}
