import { ServerResponse, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import { WebSocketServer, type ServerOptions } from 'ws';
import { isChatRoom, sessionRoom, userRoom } from '@parley/protocol';
import type { Config } from '../config.js';
import { errorBody } from '../errors.js';
import { originAllowed } from '../origin.js';
import type { Services } from '../services/index.js';
import { toSummary } from '../services/users.service.js';
import { callHandlers } from './handlers/call.handlers.js';
import { chatHandlers } from './handlers/chat.handlers.js';
import { messageHandlers } from './handlers/message.handlers.js';
import { typingHandlers } from './handlers/typing.handlers.js';
import { uploadHandlers } from './handlers/upload.handlers.js';
import { Admission } from './admission.js';
import { cutOffIfNotReading } from './backlog.js';
import { SocketFlow } from './flow.js';
import { serveEvents, type GatewayContext, type Handlers } from './handle.js';
import { RECOVERY_WINDOW_MS } from './recovery.js';
import { joinOnlyChats, syncChatRooms, type RoomChanges } from './rooms.js';
import type { ParleyServer, ParleySocket } from './types.js';

/** A frame over this closes the socket that sent it (engine.io's own check), and no other. */
export const MAX_FRAME_BYTES = 64 * 1024;

/**
 * ws hands a connection's messages over one per turn of the event loop, instead of every frame a
 * read brought in (megabytes of them from a flooding socket) at once: other connections are
 * served between its messages, and TCP backpressure slows the flood down. engine.io builds its ws
 * server from `wsEngine` with options of its own, so the option rides on the class.
 */
class FairWebSocketServer extends WebSocketServer {
  constructor(options: ServerOptions) {
    super({ ...options, allowSynchronousEvents: false });
  }
}

export function createSocketServer(httpServer: HttpServer, config: Config): ParleyServer {
  const io: ParleyServer = new Server(httpServer, {
    maxHttpBufferSize: MAX_FRAME_BYTES,
    // Same-origin or CORS_ORIGINS only; no Origin (a non-browser client) is fine.
    allowRequest: (req, callback) =>
      callback(null, originAllowed(req.headers.origin, req.headers.host, config.corsOrigins)),
    cors: { origin: [...config.corsOrigins], credentials: true },
    wsEngine: FairWebSocketServer,
    // Across processes (REDIS_URL), a reconnect inside the window gets its missed packets from
    // the Redis stream; the handshake middleware runs again all the same (see recovery.ts).
    ...(config.redisUrl && {
      connectionStateRecovery: {
        maxDisconnectionDuration: RECOVERY_WINDOW_MS,
        skipMiddlewares: false,
      },
    }),
  });
  forgetRequests(io);
  return io;
}

/**
 * Each connection keeps the HTTP request that opened it (headers, parser state: about 1.5 KiB)
 * for its whole life unless told otherwise; nothing here reads it after the origin check, and the
 * handshake takes its token from the CONNECT packet. Socket.IO's advice ("Memory usage") is to
 * drop `connection.request`; engine.io 6.6 also keeps a WebSocket upgrade's request in the
 * response object it makes for middlewares (`WebSocketResponse`, which the raw socket's `close`
 * listener holds), so that one is dropped once the upgrade's headers are written, when no
 * middleware can use it any more. So `socket.handshake.headers` is empty: a per-IP rule for
 * sockets belongs in allowRequest.
 */
function forgetRequests(io: ParleyServer): void {
  const upgrades = new WeakMap<IncomingMessage, { req: unknown }>();
  io.engine.use((req: IncomingMessage, res: unknown, next: () => void) => {
    if (!(res instanceof ServerResponse)) upgrades.set(req, res as { req: unknown });
    next();
  });
  io.engine.on('headers', (_headers: unknown, req: IncomingMessage) => {
    const response = upgrades.get(req);
    if (!response) return; // a polling response
    response.req = null;
    // ws takes the connection over right after this, synchronously: its timer is cleared then.
    const connection = req.socket;
    queueMicrotask(() => forgetClearedTimer(connection));
  });
  io.engine.on('connection', (connection: { request: unknown }) => {
    connection.request = null;
  });
}

/**
 * ws clears an upgraded connection's idle timeout (the HTTP server's, IDLE_CONNECTION_MS), but Node
 * keeps the cleared `Timeout` and its bound callback on the socket (about 230 bytes) for the
 * connection's life. Node's property has no public name: found by its symbol's description, and
 * left alone unless it is a timer that has been cleared (a later `setTimeout` makes a new one).
 */
function forgetClearedTimer(connection: Socket): void {
  const key = (timeoutKey ??= Object.getOwnPropertySymbols(connection).find(
    (symbol) => symbol.description === 'timeout',
  ));
  if (!key || connection.timeout !== 0) return;
  const holder = connection as unknown as Record<symbol, { _idleTimeout?: number } | null>;
  if (holder[key]?._idleTimeout === -1) holder[key] = null;
}
let timeoutKey: symbol | undefined;

/**
 * The handshake and the per-socket wiring: auth, a place among the user's sockets, rooms,
 * presence, the socket's flow (RATE_LIMIT_EVENTS and handlers in flight), one handler file per
 * group.
 */
export function attachGateway(
  io: ParleyServer,
  services: Services,
  ctx: GatewayContext & {
    eventsPerWindow: number;
    /**
     * Moves delivered so far (delivery.ts), when every move reaches this process's sockets
     * through it (one process): a connect that saw none during its handshake reads nothing again.
     */
    roomMoves?: (() => number) | undefined;
  },
): void {
  const { lifecycle, log, metrics } = ctx;
  // An outage (database or Redis) is logged where it is noticed, once; each call it fails is
  // not worth another line.
  const failed = (what: string) => (err: unknown) => {
    if (errorBody(err).code === 'internal') log.error({ err }, what);
    else log.debug({ err }, what);
  };
  const releasePlace = (userId: string, socketId: string) => {
    services.presence.release(userId, socketId).catch(failed('socket place release failed'));
  };

  const handlers: Handlers = {
    ...chatHandlers(services),
    ...messageHandlers(services),
    ...typingHandlers(services),
    ...callHandlers(services),
    ...uploadHandlers(services),
  };

  const admission = new Admission(HANDSHAKES_AT_ONCE);
  // What a socket holds from its handshake until its set-up after `connection` is done: its
  // turn and its place among its user's sockets. A client gone in between never connects nor
  // disconnects, so its connection's close gives both back; after that, `disconnect` does.
  const holds = new WeakMap<ParleySocket, () => void>();
  // Each connected socket's flow, for `onDisconnect` to close.
  const flows = new WeakMap<ParleySocket, SocketFlow>();
  // Moves delivered before a handshake's read, until its socket is connected.
  const movesBeforeRead = new WeakMap<ParleySocket, number>();
  const hold = (socket: ParleySocket, userId: string, leave: () => void) => {
    const gone = () => {
      settle();
      releasePlace(userId, socket.id);
    };
    // Given back once the set-up is done, or when the client goes first, or after TURN_MAX_MS
    // whatever happens (a set-up that hangs, say on a Redis outage, must not hold the line for
    // everyone; the socket is connected by then, and its `disconnect` gives the place back).
    // Then nothing is left on the socket: it lives on with no listener or timer of the
    // handshake's.
    const settle = () => {
      clearTimeout(timer);
      socket.conn.off('close', gone);
      holds.delete(socket);
      leave();
    };
    const timer = setTimeout(settle, TURN_MAX_MS).unref();
    socket.conn.once('close', gone);
    holds.set(socket, settle);
    // Gone already (during the last await): its close has been heard, by nobody.
    if (closed(socket)) gone();
  };

  io.use((socket, next) => {
    void (async () => {
      const leave = await admission.enter();
      // A client gone while it waited hands its turn on. One that goes during its handshake
      // keeps it until the handshake's own statements are done (below): the turn bounds them.
      if (closed(socket)) {
        leave();
        next(new Error('the client went away'));
        return;
      }
      let placeOf: string | undefined;
      try {
        lifecycle.assertOpen();
        const token = handshakeToken(socket);
        // Not kept for the socket's life (a few hundred bytes each): nothing reads it again.
        socket.handshake.auth = NO_AUTH;
        const movesBefore = ctx.roomMoves?.();
        const { user, expiresAt, tokenId, chatIds } = await services.auth.handshake(token);
        if (movesBefore !== undefined) movesBeforeRead.set(socket, movesBefore);
        // Set first: an admit that fails after taking the place (its answer lost) gives it back
        // below too; releasing a place never taken is harmless.
        placeOf = user.id;
        await services.presence.admit(user.id, socket.id);
        socket.data.user = toSummary(user);
        socket.data.expiresAt = expiresAt.getTime();
        socket.data.tokenId = tokenId;
        socket.data.tokenVersion = user.tokenVersion;
        // The rooms are joined before the client hears it is connected, so that nothing sent
        // after its `connect` is missed. Membership moves during the handshake skip this socket
        // (it is not connected yet): the version read with the chats tells the connection handler.
        // A recovered session (REDIS_URL) comes back with its former rooms: only the ones this
        // token and these memberships give are kept.
        for (const room of socket.rooms) {
          if (room !== socket.id && !isChatRoom(room)) void socket.leave(room);
        }
        await socket.join([userRoom(user.id), sessionRoom(tokenId)]);
        socket.data.membershipVersion = user.membershipVersion;
        joinOnlyChats(socket, chatIds);
      } catch (err) {
        leave();
        if (placeOf) releasePlace(placeOf, socket.id);
        const { code, message } = errorBody(err);
        if (code === 'internal') log.error({ err }, 'socket handshake failed');
        next(Object.assign(new Error(message), { data: { code } }));
        return;
      }
      hold(socket, placeOf, leave);
      next();
    })();
  });

  /** See `connection` below. */
  const recheckConnected = (socket: ParleySocket) =>
    lifecycle.track(readAgain(socket, services)).catch(failed('room sync failed'));

  io.on('connection', (socket) => {
    const user = socket.data.user;
    const flow = new SocketFlow(ctx.eventsPerWindow);
    flows.set(socket, flow);
    serveEvents(socket, flow, ctx, handlers);
    socket.onAnyOutgoing(metrics.countDelivery);
    socket.on('disconnect', onDisconnect);

    // A sign-out or a membership change that committed during the handshake could not reach this
    // socket: Socket.IO moves and disconnects connected sockets only, on every process. So the
    // token and the membership version are read once more (one query), now that the socket is
    // connected, where anything later reaches it. Not when this process is the only one and has
    // delivered no move since before the handshake's read: a change that read missed committed
    // after it began, and its move is delivered after its commit.
    const movesBefore = movesBeforeRead.get(socket);
    movesBeforeRead.delete(socket);
    const missedNone = movesBefore !== undefined && ctx.roomMoves?.() === movesBefore;
    const recheck = missedNone ? undefined : recheckConnected(socket);
    const online = services.presence
      .connected(user.id, socket.id)
      .catch(failed('presence update failed'));
    void Promise.all([recheck, online]).finally(holds.get(socket));
  });

  // One function for every socket's `disconnect` (Socket.IO calls it with the socket as `this`):
  // a closure per socket would live as long as the socket does.
  function onDisconnect(this: ParleySocket) {
    const { id, data } = this;
    const { user } = data;
    flows.get(this)?.close();
    releasePlace(user.id, id);
    lifecycle.track(services.typing.socketGone(id)).catch(failed('typing update failed'));
    // A call ends with its socket, or, ringing, with the callee's last socket anywhere.
    lifecycle
      .track(
        services.presence
          .disconnected(user.id, id)
          .catch((err: unknown) => {
            failed('presence update failed')(err);
            return false;
          })
          .then((last) => services.calls.socketGone(user, id, last)),
      )
      .catch(failed('call update failed'));
  }
}

/**
 * Every SWEEP_MS over this process's sockets (a comparison or two each, rather than a timer per
 * socket, which would cost every idle socket a few hundred bytes): a socket lives no longer than
 * its token (the client reconnects with a fresh one, or is refused and signs in again), and one
 * whose client stopped reading is cut off (backlog.ts; a silent reader sends no event where the
 * check would otherwise run).
 */
export function sweepSockets(io: ParleyServer, log: Logger, now = Date.now()): void {
  for (const socket of io.of('/').sockets.values()) {
    if (socket.data.expiresAt <= now) socket.disconnect(true);
    else cutOffIfNotReading(socket, log, true);
  }
}

/** How late at most a socket whose token expired, or whose client stopped reading, is dropped. */
export const SWEEP_MS = 1000;

/** What the handshake established about the socket's token. */
const signedIn = ({ data }: ParleySocket) => ({
  userId: data.user.id,
  tokenId: data.tokenId,
  tokenVersion: data.tokenVersion,
});

/** Whether the client's connection has closed (read afresh: it may close during any await). */
const closed = (socket: ParleySocket): boolean => socket.conn.readyState === 'closed';

const NO_AUTH = Object.freeze({});

function handshakeToken(socket: ParleySocket): string | undefined {
  const auth: unknown = socket.handshake.auth;
  const token =
    typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
  return typeof token === 'string' ? token : undefined;
}

/**
 * Handshakes at work at once (see Admission): twice the PostgreSQL pool, so that the pool stays
 * busy while no query waits long for a connection.
 */
const HANDSHAKES_AT_ONCE = 20;
/** The longest a handshake holds its turn, set-up after `connection` included. */
const TURN_MAX_MS = 10_000;

/** Sockets re-checked at once after an outage: enough to be quick, few enough to spare the pool. */
const RECHECK_CONCURRENCY = 4;

/**
 * After a Redis outage: room moves and sign-outs published meanwhile never arrived (those of this
 * process reached no other, those of the others none here). Every local socket's token is checked
 * again (a revoked one is disconnected) and its rooms set from the database, telling it of the
 * chats it gained or lost. The process whose Redis came back asks every other to do the same
 * (`parley:recheck`): it may have been the only one cut off.
 */
export async function recheckSockets(io: ParleyServer, services: Services): Promise<void> {
  const queue = [...io.of('/').sockets.values()];
  const worker = async () => {
    for (let socket = queue.shift(); socket; socket = queue.shift()) {
      if (socket.disconnected) continue;
      const moved = await readAgain(socket, services);
      if (!moved) continue;
      const userId = socket.data.user.id;
      // The `chat:new` and `chat:removed` this socket missed, as the moves would have said.
      for (const chatId of moved.left) socket.emit('chat:removed', { chatId });
      for (const chatId of moved.joined)
        socket.emit('chat:new', await services.chats.get(chatId, userId));
    }
  };
  await Promise.all(Array.from({ length: RECHECK_CONCURRENCY }, worker));
}

/**
 * A connected socket's token and memberships read again: a token signed out meanwhile
 * disconnects it (undefined); else, if its user's memberships moved since the socket's last read,
 * its chat rooms are set from the database, and the chats it entered and left are answered.
 */
async function readAgain(
  socket: ParleySocket,
  services: Services,
): Promise<RoomChanges | undefined> {
  let membershipVersion: number;
  try {
    ({ membershipVersion } = await services.auth.stillSignedIn(signedIn(socket)));
  } catch (err) {
    if (errorBody(err).code !== 'unauthorized') throw err;
    socket.disconnect(true);
    return undefined;
  }
  if (membershipVersion === socket.data.membershipVersion) return { joined: [], left: [] };
  const userId = socket.data.user.id;
  return syncChatRooms(
    socket,
    () => services.chats.membershipOf(userId),
    () => services.chats.membershipVersion(userId),
  );
}
