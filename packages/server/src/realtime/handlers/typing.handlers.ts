import type { Services } from '../../services/index.js';
import { handle, type HandlerContext } from '../handle.js';
import type { ParleySocket } from '../types.js';

export function registerTypingHandlers(
  socket: ParleySocket,
  ctx: HandlerContext,
  services: Services,
): void {
  const user = socket.data.user;

  handle(socket, ctx, 'typing:start', async ({ chatId }) => {
    await services.typing.start(chatId, user, socket.id, () => socket.connected);
  });

  handle(socket, ctx, 'typing:stop', async ({ chatId }) => {
    await services.typing.stop(chatId, user.id);
  });
}
