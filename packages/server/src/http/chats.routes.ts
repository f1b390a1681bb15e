import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  AddParticipantRequest,
  ChangeRoleRequest,
  ChangesPage,
  ChangesQuery,
  Chat,
  ChatListQuery,
  ChatListResponse,
  ChatParams,
  CreateChatRequest,
  ChatSettingsRequest,
  EditMessageRequest,
  ReactionParams,
  Message,
  MessageEdits,
  MessagePage,
  MessagePageQuery,
  MessageParams,
  ParticipantParams,
  RenameChatRequest,
  SendMessageRequest,
} from '@parley/protocol';
import { z } from 'zod';
import type { Services } from '../services/index.js';
import { toSummary } from '../services/users.service.js';
import { currentUser, requireUser } from './auth-hook.js';
import { errorResponses } from './schemas.js';

export const chatRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (
  app,
  { services },
) => {
  const { chats, messages } = services;
  app.addHook('onRequest', requireUser(services.auth));

  app.get(
    '/chats',
    {
      schema: {
        summary: "A page of the caller's chats, newest activity first; next_cursor asks for more",
        querystring: ChatListQuery,
        response: { 200: ChatListResponse, ...errorResponses },
      },
    },
    async (request) => chats.list(currentUser(request).id, request.query),
  );

  app.post(
    '/chats',
    {
      schema: {
        summary:
          'Start a direct chat (200 if it exists) or create a group; 429 past RATE_LIMIT_CHATS an hour',
        body: CreateChatRequest,
        response: { 200: Chat, 201: Chat, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { chat, created } = await chats.create(currentUser(request).id, request.body);
      return reply.status(created ? 201 : 200).send(chat);
    },
  );

  app.get(
    '/chats/:chatId',
    {
      schema: {
        summary: 'One chat',
        params: ChatParams,
        response: { 200: Chat, ...errorResponses },
      },
    },
    async (request) => chats.get(request.params.chatId, currentUser(request).id),
  );

  app.patch(
    '/chats/:chatId',
    {
      schema: {
        summary: 'Rename a group (owner or admin)',
        params: ChatParams,
        body: RenameChatRequest,
        response: { 200: Chat, ...errorResponses },
      },
    },
    async (request) =>
      chats.rename(request.params.chatId, currentUser(request).id, request.body.name),
  );

  app.post(
    '/chats/:chatId/participants',
    {
      schema: {
        summary: 'Add someone to a group (owner or admin)',
        params: ChatParams,
        body: AddParticipantRequest,
        response: { 201: Chat, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(
          await chats.addParticipant(
            request.params.chatId,
            currentUser(request).id,
            request.body.userId,
          ),
        ),
  );

  app.patch(
    '/chats/:chatId/participants/:userId',
    {
      schema: {
        summary: "Change a participant's role (the owner only)",
        params: ParticipantParams,
        body: ChangeRoleRequest,
        response: { 200: Chat, ...errorResponses },
      },
    },
    async (request) =>
      chats.setRole(
        request.params.chatId,
        currentUser(request).id,
        request.params.userId,
        request.body.role,
      ),
  );

  app.delete(
    '/chats/:chatId/participants/:userId',
    {
      schema: {
        summary: 'Remove someone (owner or admin) or leave (oneself)',
        params: ParticipantParams,
        response: { 204: z.null().describe('removed'), ...errorResponses },
      },
    },
    async (request, reply) => {
      await chats.removeParticipant(
        request.params.chatId,
        currentUser(request).id,
        request.params.userId,
      );
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/chats/:chatId/messages',
    {
      schema: {
        summary: 'History in seq order: the newest before a cursor, or the oldest after one',
        params: ChatParams,
        querystring: MessagePageQuery,
        response: { 200: MessagePage, ...errorResponses },
      },
    },
    async (request) => messages.page(request.params.chatId, currentUser(request).id, request.query),
  );

  app.post(
    '/chats/:chatId/messages',
    {
      schema: {
        summary:
          'Send a message, as the socket event message:send does (200 for a repeated clientMessageId)',
        params: ChatParams,
        body: SendMessageRequest,
        response: { 200: Message, 201: Message, ...errorResponses },
      },
    },
    async (request, reply) => {
      // The sender as messages carry them, as a socket's send does (socket.data.user).
      const { message, created } = await messages.send(toSummary(currentUser(request)), {
        chatId: request.params.chatId,
        ...request.body,
      });
      return reply.status(created ? 201 : 200).send(message);
    },
  );

  app.get(
    '/chats/:chatId/changes',
    {
      schema: {
        summary:
          'Every message changed after version `since` (new, edited, deleted), in version order: the catch-up call',
        params: ChatParams,
        querystring: ChangesQuery,
        response: { 200: ChangesPage, ...errorResponses },
      },
    },
    async (request) =>
      messages.changes(request.params.chatId, currentUser(request).id, request.query),
  );

  app.patch(
    '/chats/:chatId/messages/:messageId',
    {
      schema: {
        summary: 'Edit a message, as the socket event message:edit does (the sender only)',
        params: MessageParams,
        body: EditMessageRequest,
        response: { 200: Message, ...errorResponses },
      },
    },
    async (request) =>
      messages.edit(currentUser(request).id, { ...request.params, ...request.body }),
  );

  app.delete(
    '/chats/:chatId/messages/:messageId',
    {
      schema: {
        summary:
          'Delete a message, leaving a tombstone, as message:delete does (the sender, or a group owner or admin)',
        params: MessageParams,
        response: { 204: z.null().describe('deleted'), ...errorResponses },
      },
    },
    async (request, reply) => {
      await messages.delete(
        currentUser(request).id,
        request.params.chatId,
        request.params.messageId,
      );
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/chats/:chatId/messages/:messageId/edits',
    {
      schema: {
        summary: "A message's earlier contents, oldest first, each with the time it was replaced",
        params: MessageParams,
        response: { 200: MessageEdits, ...errorResponses },
      },
    },
    async (request) =>
      messages.edits(currentUser(request).id, request.params.chatId, request.params.messageId),
  );

  for (const [method, op, summary] of [
    ['put', 'add', 'React with an emoji (URL-encoded), as reaction:add does'],
    ['delete', 'remove', 'Take back an emoji (URL-encoded), as reaction:remove does'],
  ] as const) {
    app[method](
      '/chats/:chatId/messages/:messageId/reactions/:emoji',
      {
        schema: {
          summary,
          params: ReactionParams,
          response: {
            204: z.null().describe('done (also when it changed nothing)'),
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        await messages.react(currentUser(request).id, request.params, op);
        return reply.status(204).send(null);
      },
    );
  }

  app.patch(
    '/chats/:chatId/settings',
    {
      schema: {
        summary: "The caller's own settings of the chat (muted): shown to them alone",
        params: ChatParams,
        body: ChatSettingsRequest,
        response: { 200: Chat, ...errorResponses },
      },
    },
    async (request) =>
      chats.setMuted(request.params.chatId, currentUser(request).id, request.body.muted),
  );
};
