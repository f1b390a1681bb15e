import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { chatRoom, sessionRoom, userRoom } from '@parley/protocol';
import type { Config } from '../config.js';
import { errorBody } from '../errors.js';
import { originAllowed } from '../origin.js';
import type { Services } from '../services/index.js';
import { toSummary } from '../services/users.service.js';
import { registerChatHandlers } from './handlers/chat.handlers.js';
import { registerMessageHandlers } from './handlers/message.handlers.js';
import { registerTypingHandlers } from './handlers/typing.handlers.js';
import { refuseUnknownEvents, type HandlerContext } from './handle.js';
import type { ParleyServer } from './types.js';

/** A frame over this closes the socket that sent it (engine.io's own check), and no other. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** setTimeout's ceiling (about 24.8 days); a longer-lived token is checked again on reconnect. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createSocketServer(httpServer: HttpServer, config: Config): ParleyServer {
  return new Server(httpServer, {
    maxHttpBufferSize: MAX_FRAME_BYTES,
    // Same-origin or CORS_ORIGINS only; no Origin (a non-browser client) is fine.
    allowRequest: (req, callback) =>
      callback(null, originAllowed(req.headers.origin, req.headers.host, config.corsOrigins)),
    cors: { origin: [...config.corsOrigins], credentials: true },
  });
}

/** The handshake and the per-socket wiring: auth, rooms, presence, one handler file per group. */
export function attachGateway(io: ParleyServer, services: Services, ctx: HandlerContext): void {
  const { lifecycle, log, rooms } = ctx;
  io.use((socket, next) => {
    void (async () => {
      try {
        lifecycle.assertOpen();
        const auth: unknown = socket.handshake.auth;
        const token =
          typeof auth === 'object' && auth !== null
            ? (auth as { token?: unknown }).token
            : undefined;
        const { user, expiresAt, tokenId } = await services.auth.session(
          typeof token === 'string' ? token : undefined,
        );
        socket.data.user = toSummary(user);
        socket.data.expiresAt = expiresAt;
        socket.data.tokenId = tokenId;
        // The rooms are joined before the client hears it is connected, so that nothing sent
        // after its `connect` is missed. Membership moves during the handshake skip this socket
        // (it is not registered yet): the count taken here tells the connection handler.
        await socket.join([userRoom(user.id), sessionRoom(tokenId)]);
        socket.data.movesAtHandshake = rooms.count(user.id);
        const chatIds = await services.chats.chatIdsOf(user.id);
        await socket.join(chatIds.map(chatRoom));
        next();
      } catch (err) {
        const { code, message } = errorBody(err);
        if (code === 'internal') log.error({ err }, 'socket handshake failed');
        next(Object.assign(new Error(message), { data: { code } }));
      }
    })();
  });

  io.on('connection', (socket) => {
    const user = socket.data.user;
    if (rooms.count(user.id) !== socket.data.movesAtHandshake) {
      lifecycle
        .track(rooms.reconcile(socket, () => services.chats.chatIdsOf(user.id)))
        .catch((err: unknown) => log.error({ err }, 'room sync failed'));
    }
    refuseUnknownEvents(socket);
    registerChatHandlers(socket, ctx, services);
    registerMessageHandlers(socket, ctx, services);
    registerTypingHandlers(socket, ctx, services);

    // A socket lives no longer than its token: the client reconnects with a fresh one (or is
    // refused and signs in again).
    const expiry = setTimeout(
      () => socket.disconnect(true),
      Math.min(MAX_TIMER_MS, Math.max(0, socket.data.expiresAt.getTime() - Date.now())),
    );
    expiry.unref();

    socket.on('disconnect', () => {
      clearTimeout(expiry);
      services.typing.socketGone(socket.id);
      lifecycle
        .track(services.presence.disconnected(user.id, socket.id))
        .catch((err: unknown) => log.error({ err }, 'presence update failed'));
    });
    services.presence
      .connected(user.id, socket.id)
      .catch((err: unknown) => log.error({ err }, 'presence update failed'));
  });
}
