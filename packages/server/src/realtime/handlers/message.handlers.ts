import type { Services } from '../../services/index.js';
import { handle, type HandlerContext } from '../handle.js';
import type { ParleySocket } from '../types.js';

export function registerMessageHandlers(
  socket: ParleySocket,
  ctx: HandlerContext,
  services: Services,
): void {
  const user = socket.data.user;

  // Acked only after the commit; the service broadcasts message:new to the room, sender included.
  handle(socket, ctx, 'message:send', async ({ chatId, ...input }) => {
    const { message } = await services.messages.send(user, { chatId, ...input });
    return { message };
  });

  handle(socket, ctx, 'message:read', async ({ chatId, messageId }) => {
    await services.messages.markRead(user.id, chatId, messageId);
  });
}
