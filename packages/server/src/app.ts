import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifySwagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import type { EmbeddedStore } from './db/embedded.js';
import { authRoutes } from './http/auth.routes.js';
import { callRoutes } from './http/calls.routes.js';
import { chatRoutes } from './http/chats.routes.js';
import { acceptEmptyJsonBodies } from './http/body.js';
import {
  clientErrorResponse,
  frameworkErrorHandler,
  registerErrorHandling,
} from './http/errors.js';
import { healthRoutes } from './http/health.routes.js';
import { userRoutes } from './http/users.routes.js';
import { searchRoutes } from './http/search.routes.js';
import { uploadRoutes } from './http/uploads.routes.js';
import { registerWebClient } from './http/web.js';
import { Lifecycle } from './lifecycle.js';
import { announceListening } from './logger.js';
import { Metrics, metricsRoute } from './metrics.js';
import { originAllowed } from './origin.js';
import { socketDelivery } from './realtime/delivery.js';
import {
  attachGateway,
  createSocketServer,
  sweepSockets,
  SWEEP_MS,
  recheckSockets,
} from './realtime/gateway.js';
import { guardRecovery } from './realtime/recovery.js';
import type { ParleyServer } from './realtime/types.js';
import type { RedisScale } from './scale/redis.js';
import { inProcessState } from './services/in-process.js';
import { createServices, type Services } from './services/index.js';

export { loadConfig, type Config } from './config.js';
export { createLogger } from './logger.js';

const BODY_LIMIT = 64 * 1024;
/**
 * A connection silent this long is closed (a request that stops in its body, say). Above
 * Socket.IO's ping interval (25 s): a long poll is answered, and a polling client's next request
 * comes, within it; a websocket is exempt (ws clears the timeout on upgrade).
 */
const IDLE_CONNECTION_MS = 30_000;
/**
 * A request's headers must be complete within this, however slowly they trickle in; a new
 * connection that sends nothing is closed then too.
 */
const HEADERS_TIMEOUT_MS = 15_000;
/** How often Node looks for requests past HEADERS_TIMEOUT_MS (its default, 30 s, doubles it). */
const TIMEOUT_CHECK_MS = 2_000;
const SHUTDOWN_BUDGET_MS = 8000;
/** How often each process looks for dead processes' users to announce offline (REDIS_URL). */
const SWEEP_INTERVAL_MS = 5000;
/**
 * How often each process deletes uploads left unfinished or unsent (every process does: they
 * take different rows, and one alone is enough to keep up).
 */
const UPLOAD_SWEEP_INTERVAL_MS = 10 * 60_000;
const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url));

/**
 * Every schema is zod. Named at construction (rather than set afterwards), the compilers spare
 * Fastify loading Ajv and fast-json-stringify, its defaults: 80 ms of every start. Fastify types
 * the factories after those two; at run time it only calls them for a compiler like these.
 */
const ZOD_COMPILERS = {
  buildValidator: () => validatorCompiler,
  buildSerializer: () => serializerCompiler,
} as unknown as NonNullable<FastifyServerOptions['schemaController']>['compilersFactory'];

/** Late-bound: Redis connects before the services that act on its recoveries exist. */
interface RedisRecovery {
  presence: (userIds: string[]) => void;
  delivery: () => void;
}

/**
 * Connections the kernel may hold for the server to accept. Node's default, 511, overflows when
 * thousands of clients reconnect at once (a restart, a network blip): the kernel then drops their
 * handshakes and the clients see websocket errors (docs/PERFORMANCE.md, "storm"). Linux caps it at
 * net.core.somaxconn (4096 by default since 5.4).
 */
const LISTEN_BACKLOG = 4096;

export interface ParleyApp {
  readonly http: FastifyInstance;
  readonly io: ParleyServer;
  readonly database: Database;
  readonly services: Services;
  /** Binds PORT/HOST and resolves with the URL clients use. */
  listen(): Promise<string>;
  /** Graceful: refuse new work, finish writes in flight, close sockets, then the database. */
  close(): Promise<void>;
}

/** What main.ts starts before loading this module: the embedded database's thread. */
export interface EarlyStart {
  readonly embedded?: Promise<EmbeddedStore> | undefined;
}

export async function createApp(
  config: Config,
  log: Logger,
  early?: EarlyStart,
): Promise<ParleyApp> {
  const metrics = new Metrics();
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    checkpointIntervalMs: config.checkpointIntervalMs,
    onQuery: metrics.observeQuery,
    embedded: early?.embedded,
    onUpkeepStopped: (err) =>
      log.warn(
        { err },
        "the search indexes' upkeep stopped: each insert that finds a pending list over gin_pending_list_limit merges it while its sends wait; run Parley as the role that owns its tables (the one that migrated them)",
      ),
  });
  let redis: RedisScale | undefined;
  // What Redis tells of its recoveries, acted on once the services exist (see assemble).
  const restored: RedisRecovery = { presence: () => {}, delivery: () => {} };
  try {
    if (config.redisUrl) {
      // Loaded only when asked for: one process on the embedded database never pays for it.
      const { connectRedis } = await import('./scale/redis.js');
      redis = await connectRedis(config.redisUrl, log, {
        typingTimeoutMs: config.typingTimeoutMs,
        prefix: config.redisPrefix,
        onPresenceRestored: (userIds) => restored.presence(userIds),
        onDeliveryRestored: () => restored.delivery(),
      });
    }
    return await assemble(config, log, database, redis, restored, metrics);
  } catch (err) {
    await redis?.close();
    await database.close();
    throw err;
  }
}

async function assemble(
  config: Config,
  log: Logger,
  database: Database,
  redis: RedisScale | undefined,
  restored: RedisRecovery,
  metrics: Metrics,
): Promise<ParleyApp> {
  const lifecycle = new Lifecycle();
  const loggerInstance: FastifyBaseLogger = log;
  const http = Fastify({
    loggerInstance,
    bodyLimit: BODY_LIMIT,
    // TRUST_PROXY hops of X-Forwarded-For name the client (rate limits, logs); 0 trusts none.
    // (As proxy-addr reads a hop count: trust the nearest `trustProxy` addresses.)
    trustProxy: (_address: string, hop: number) => hop < config.trustProxy,
    connectionTimeout: IDLE_CONNECTION_MS,
    http: { connectionsCheckingInterval: TIMEOUT_CHECK_MS },
    // close() runs after every request under way has been answered (the lifecycle tracks
    // them), so it may drop every connection, keep-alive ones included.
    forceCloseConnections: true,
    // `/api/chats/` is `/api/chats`, as clients that build paths by joining expect. A path
    // parameter over find-my-way's 100 characters would match no route (404): a malformed id
    // of any length is the schema's to refuse (400).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 },
    schemaController: { compilersFactory: ZOD_COMPILERS },
    frameworkErrors: frameworkErrorHandler(config.corsOrigins),
    clientErrorHandler: (err, socket) => {
      if (socket.writable) socket.end(clientErrorResponse(err));
      else socket.destroy(err);
    },
  }).withTypeProvider<ZodTypeProvider>();
  http.server.headersTimeout = HEADERS_TIMEOUT_MS;
  // Open TCP connections at once, HTTP and websockets (MAX_CONNECTIONS): one more is closed at once.
  http.server.maxConnections = config.maxConnections;
  http.decorateRequest('user', null);

  const io = createSocketServer(http.server, config);
  metrics.observe(io, database);
  // With REDIS_URL every broadcast and room move goes through Redis to every process.
  if (redis) io.adapter(redis.adapter);
  const state = redis?.state ?? inProcessState(config.typingTimeoutMs);
  const delivery = socketDelivery(io);
  const services = createServices(
    database.db,
    config,
    delivery,
    state,
    log,
    metrics.groupCommitStats,
  );
  if (!(await services.search.foldsEveryScript())) {
    log.warn(
      "the database's LC_CTYPE is C or POSIX: message search ignores case for ASCII letters only; create the database with a UTF-8 locale (C.UTF-8 will do)",
    );
  }
  if (redis) {
    guardRecovery(io, (data) =>
      services.auth.resumable({
        userId: data.user.id,
        tokenId: data.tokenId,
        tokenVersion: data.tokenVersion,
        membershipVersion: data.membershipVersion,
        expiresAt: data.expiresAt,
      }),
    );
  }
  // Presence that Redis lost (a restart) and this process put back is announced again.
  restored.presence = (userIds) => {
    services.presence
      .restored(userIds)
      .catch((err: unknown) => log.warn({ err }, 'presence update failed'));
  };
  // Room moves and sign-outs published while Redis was down reached no other process, nor theirs
  // this one: every process checks its sockets again.
  const recheck = () => {
    lifecycle
      .track(recheckSockets(io, services))
      .catch((err: unknown) => log.warn({ err }, 'socket recheck failed'));
  };
  io.on('parley:recheck', recheck);
  restored.delivery = () => {
    io.serverSideEmit('parley:recheck');
    recheck();
  };
  const sweeper = redis
    ? setInterval(() => {
        Promise.all([
          services.presence.sweep(),
          services.typing.sweep(),
          services.calls.sweep(),
        ]).catch((err: unknown) => log.warn({ err }, 'sweep failed'));
      }, SWEEP_INTERVAL_MS).unref()
    : undefined;
  const sweepUploads = () => {
    lifecycle
      .track(services.uploads.sweep())
      .catch((err: unknown) => log.warn({ err }, 'upload sweep failed'));
  };
  // The first a little after start (not during a rolling restart's busiest seconds), then
  // periodically, spread so that processes started together do not sweep together.
  const uploadSweeper = setInterval(
    sweepUploads,
    UPLOAD_SWEEP_INTERVAL_MS + Math.floor(Math.random() * 60_000),
  ).unref();
  const firstUploadSweep = setTimeout(sweepUploads, 30_000 + Math.random() * 30_000).unref();

  // Origin allowlist first, then refuse new work while shutting down. `nosniff` is set before
  // either can answer: helmet's hook, which sets it for the rest, runs after this one.
  http.addHook('onRequest', async (request, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
    if (!originAllowed(request.headers.origin, request.headers.host, config.corsOrigins)) {
      return reply
        .status(403)
        .send({ error: { code: 'forbidden', message: 'origin not allowed' } });
    }
    lifecycle.assertOpen();
    reply.raw.once('close', lifecycle.begin());
  });
  http.addHook('onResponse', async (_request, reply) => {
    if (reply.statusCode >= 400) metrics.countHttpError(reply.statusCode);
  });
  // A handler goes on after its client aborts (the connection's close comes first): count the
  // handler itself as in flight too, so a shutdown never closes the database under its write.
  http.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function (this: typeof http, request, reply) {
      return lifecycle.track(Promise.resolve(handler.call(this, request, reply)));
    };
  });
  await http.register(fastifyCors, {
    origin: [...config.corsOrigins],
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    // A bare OPTIONS is answered like any request, not with a plain-text 400.
    strictPreflight: false,
  });
  // The web client and the API alike: nothing may frame Parley, load plugins, or pull scripts
  // from elsewhere. No upgrade-insecure-requests: a plain-HTTP deployment must keep working.
  await http.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:'],
        objectSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Other origins listed in CORS_ORIGINS read the API through CORS, which CORP does not affect.
    crossOriginResourcePolicy: { policy: 'same-site' },
  });
  acceptEmptyJsonBodies(http);
  await http.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Parley API',
        version: '0.1.0',
        description: 'See docs/API.md for the socket events.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });

  const webDist = config.webDist ?? DEFAULT_WEB_DIST;
  const hasWeb = await registerWebClient(http, webDist);
  registerErrorHandling(http, hasWeb);
  metricsRoute(http, metrics, config.metricsToken);
  await http.register(
    async (api) => {
      await api.register(healthRoutes, { database, redisStatus: () => state.redisStatus() });
      await api.register(authRoutes, { services });
      await api.register(userRoutes, { services });
      await api.register(chatRoutes, { services });
      await api.register(searchRoutes, { services });
      await api.register(callRoutes, { services });
      await api.register(uploadRoutes, { services, maxUploadBytes: config.maxUploadBytes });
      api.get('/openapi.json', { schema: { hide: true } }, () => http.swagger());
    },
    { prefix: '/api' },
  );
  attachGateway(io, services, {
    lifecycle,
    log,
    metrics,
    eventsPerWindow: config.rateLimitEvents,
    // With Redis, other processes' moves reach this one's sockets through the adapter, unseen.
    roomMoves: redis ? undefined : () => delivery.moves(),
  });
  const socketSweeper = setInterval(() => sweepSockets(io, log), SWEEP_MS).unref();
  if (!hasWeb)
    log.info(
      { webDist: path.relative(process.cwd(), webDist) },
      'no web client built; serving the API only',
    );

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const budget = Date.now() + SHUTDOWN_BUDGET_MS;
      // Refuse new work, and let requests and events under way (writes above all) finish.
      await lifecycle.drain(SHUTDOWN_BUDGET_MS / 2);
      clearInterval(sweeper);
      clearInterval(socketSweeper);
      clearInterval(uploadSweeper);
      clearTimeout(firstUploadSweep);
      io.local.disconnectSockets(true);
      io.engine.close();
      // Not io.close(): it waits on the HTTP server, whose keep-alive connections Fastify's
      // close() drops below.
      await http.close();
      // Presence and typing updates started by the disconnects above (the others hear
      // `typing:stop` for this process's typists).
      await lifecycle.drain(Math.max(0, budget - Date.now()));
      services.typing.clear();
      services.calls.clear();
      // Users inside their grace: left to the other processes (one who reconnects there must not
      // flap), or, when none is left, announced offline now so that last-seen is written.
      await services.presence.shutdown();
      await state.close();
      await database.close();
    })());

  return {
    http,
    io,
    database,
    services,
    listen: async () => {
      await http.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG });
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const shownHost = ['0.0.0.0', '::', '[::]'].includes(config.host) ? 'localhost' : config.host;
      const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
      announceListening(url, config.logLevel);
      return url;
    },
    close,
  };
}
