import type { Services } from '../../services/index.js';
import { inOrderPerSocket, type Handlers } from '../handle.js';

type MessageEvents =
  | 'message:send'
  | 'message:edit'
  | 'message:delete'
  | 'reaction:add'
  | 'reaction:remove'
  | 'message:read';

export function messageHandlers(services: Services): Pick<Handlers, MessageEvents> {
  // One socket's sends and changes are made one after another, in the order they came, as
  // Socket.IO delivered them: a client that sends A then B without waiting gets A before B
  // (seq), and one that adds a reaction then removes it ends with none (concurrent statements on
  // a pool would not keep either). Reads need no turn: a read mark only ever moves up.
  const inOrder = inOrderPerSocket();

  return {
    // Acked only after the commit; the service broadcasts message:new to the room, sender
    // included.
    'message:send': async ({ chatId, ...input }, socket) => {
      const { message } = await inOrder(socket, () =>
        services.messages.send(socket.data.user, { chatId, ...input }),
      );
      return { message };
    },

    // The service publishes message:updated to the room; the ack carries the message as it now is.
    'message:edit': async (input, socket) => ({
      message: await inOrder(socket, () => services.messages.edit(socket.data.user.id, input)),
    }),

    'message:delete': async ({ chatId, messageId }, socket) => {
      await inOrder(socket, () => services.messages.delete(socket.data.user.id, chatId, messageId));
    },

    'reaction:add': async (input, socket) => {
      await inOrder(socket, () => services.messages.react(socket.data.user.id, input, 'add'));
    },

    'reaction:remove': async (input, socket) => {
      await inOrder(socket, () => services.messages.react(socket.data.user.id, input, 'remove'));
    },

    'message:read': async ({ chatId, messageId }, socket) => {
      await services.messages.markRead(socket.data.user.id, chatId, messageId);
    },
  };
}
