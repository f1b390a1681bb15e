import type { Services } from '../../services/index.js';
import { handle, type HandlerContext } from '../handle.js';
import type { ParleySocket } from '../types.js';

export function registerMessageHandlers(
  socket: ParleySocket,
  ctx: HandlerContext,
  services: Services,
): void {
  const user = socket.data.user;

  // One socket's sends are stored one after another, in the order they came: a client that sends
  // A then B without waiting gets A before B (seq). Concurrent inserts on a pool would not keep it.
  let previousSend: Promise<unknown> = Promise.resolve();

  // Acked only after the commit; the service broadcasts message:new to the room, sender included.
  handle(socket, ctx, 'message:send', async ({ chatId, ...input }) => {
    const send = previousSend.then(() => services.messages.send(user, { chatId, ...input }));
    previousSend = send.catch(() => {});
    const { message } = await send;
    return { message };
  });

  // The service publishes message:updated to the room; the ack carries the message as it now is.
  handle(socket, ctx, 'message:edit', async (input) => ({
    message: await services.messages.edit(user.id, input),
  }));

  handle(socket, ctx, 'message:delete', async ({ chatId, messageId }) => {
    await services.messages.delete(user.id, chatId, messageId);
  });

  handle(socket, ctx, 'reaction:add', async (input) => {
    await services.messages.react(user.id, input, 'add');
  });

  handle(socket, ctx, 'reaction:remove', async (input) => {
    await services.messages.react(user.id, input, 'remove');
  });

  handle(socket, ctx, 'message:read', async ({ chatId, messageId }) => {
    await services.messages.markRead(user.id, chatId, messageId);
  });
}
