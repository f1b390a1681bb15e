import { chatRoom } from '@parley/protocol';
import type { Services } from '../../services/index.js';
import type { Handlers } from '../handle.js';

/** chat:join and chat:leave move this socket only; membership is the HTTP API's business. */
export function chatHandlers(services: Services): Pick<Handlers, 'chat:join' | 'chat:leave'> {
  return {
    'chat:join': async ({ chatId }, socket) => {
      const userId = socket.data.user.id;
      const { membershipVersion } = await services.access.participant(chatId, userId);
      await socket.join(chatRoom(chatId));
      // A removal (on any process) that moved this user's sockets out while we checked would be
      // undone by the join: if the version moved, check again and step out if it no longer
      // belongs.
      if ((await services.chats.membershipVersion(userId)) !== membershipVersion) {
        try {
          await services.access.participant(chatId, userId);
        } catch (err) {
          await socket.leave(chatRoom(chatId));
          throw err;
        }
      }
    },

    // An unknown chat or one the user is not in is refused like any other bad input.
    'chat:leave': async ({ chatId }, socket) => {
      await services.access.participant(chatId, socket.data.user.id);
      await socket.leave(chatRoom(chatId));
    },
  };
}
