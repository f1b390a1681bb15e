import type { Logger } from 'pino';
import { clientEventSchemas, type ClientToServerEvents, type ErrorBody } from '@parley/protocol';
import type { z } from 'zod';
import { AppError, errorBody, rateLimited, validationFailed } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Metrics } from '../metrics.js';
import { cutOffIfNotReading } from './backlog.js';
import type { SocketFlow } from './flow.js';
import type { ParleySocket } from './types.js';

type EventName = keyof ClientToServerEvents;
type Payload<E extends EventName> = z.output<(typeof clientEventSchemas)[E]>;
type AckExtra = object | void;
type AckFn = (response: unknown) => void;

/** What every socket's events share. */
export interface GatewayContext {
  lifecycle: Lifecycle;
  log: Logger;
  metrics: Metrics;
}

/** One event's handler: it authorizes and calls a service; what it returns is added to the ack. */
export type Handler<E extends EventName> = (
  payload: Payload<E>,
  socket: ParleySocket,
) => Promise<AckExtra>;

/**
 * Every client event's handler, in one table built once per server: a socket carries no closure
 * per event (they took 4.9 KiB of each idle socket's 21.7, docs/PERFORMANCE.md). The type makes
 * a protocol event without a handler a compile error.
 */
export type Handlers = { [E in EventName]: Handler<E> };

/**
 * Runs one socket's calls one after another, in the order they were made (handlers otherwise run
 * side by side, up to the socket's flow): a call starts once the previous one has settled.
 */
export function inOrderPerSocket(): <T>(
  socket: ParleySocket,
  work: () => Promise<T>,
) => Promise<T> {
  const tails = new WeakMap<ParleySocket, Promise<unknown>>();
  return (socket, work) => {
    const next = (tails.get(socket) ?? Promise.resolve()).then(work);
    // What is kept is only whether it settled: not the last result, for the socket's life.
    tails.set(
      socket,
      next.then(
        () => undefined,
        () => undefined,
      ),
    );
    return next;
  };
}

const RATE_LIMITED = errorBody(rateLimited());

/**
 * Every event packet of a socket passes here (Socket.IO middleware), before any parsing. A socket
 * whose client does not read its answers is cut off (backlog.ts); past the
 * socket's RATE_LIMIT_EVENTS it is answered `rate_limited`; an event the protocol does not define
 * (which counts too) is answered `validation_failed`. Either way as an ack or the `error` event,
 * so a client waiting on an ack never hangs. Any other goes to its handler (`run`), never to
 * Socket.IO's listeners: this middleware never calls `next()`, so a `socket.on` of a client event,
 * or a `socket.use` added after this one, would never run. Events go in the `Handlers` table.
 */
export function serveEvents(
  socket: ParleySocket,
  flow: SocketFlow,
  ctx: GatewayContext,
  handlers: Handlers,
): void {
  socket.use((packet) => {
    const [event, ...args] = packet as unknown[];
    const ack = typeof args.at(-1) === 'function' ? (args.pop() as AckFn) : undefined;
    if (cutOffIfNotReading(socket, ctx.log)) return;
    if (!flow.admit()) {
      refuse(socket, ack, RATE_LIMITED, ctx.metrics);
    } else if (typeof event === 'string' && Object.hasOwn(clientEventSchemas, event)) {
      run(socket, flow, ctx, event as EventName, args[0], ack, handlers);
    } else {
      refuse(
        socket,
        ack,
        {
          code: 'validation_failed',
          message: `unknown event ${JSON.stringify(String(event).slice(0, 64))}`,
        },
        ctx.metrics,
      );
    }
  });
}

/**
 * The one shape of every client event: parse the payload with its schema, run the handler once
 * the socket has a free slot, then ack `{ ok: true, ...result }`, or `{ ok: false, error }`. A
 * failed event without a callback gets an `error` event instead. Nothing a client sends can throw
 * past here, so bad input never touches other sockets.
 */
function run<E extends EventName>(
  socket: ParleySocket,
  flow: SocketFlow,
  ctx: GatewayContext,
  event: E,
  payload: unknown,
  ack: AckFn | undefined,
  handlers: Handlers,
): void {
  const started = performance.now();
  const done = (outcome: string) =>
    ctx.metrics.events.observe({ event, outcome }, (performance.now() - started) / 1000);
  const parsed = clientEventSchemas[event].safeParse(payload);
  if (!parsed.success) {
    refuse(socket, ack, errorBody(validationFailed(describe(parsed.error))), ctx.metrics);
    done('validation_failed');
    return;
  }
  const handler = handlers[event] as Handler<E>;
  const accepted = flow.run(async () => {
    try {
      const result = await ctx.lifecycle.run(() => handler(parsed.data as Payload<E>, socket));
      ack?.({ ok: true, ...(result ?? {}) });
      done('ok');
    } catch (err) {
      const body = errorBody(err);
      if (body.code === 'internal') ctx.log.error({ err, event }, 'socket event failed');
      refuse(socket, ack, body, ctx.metrics, err instanceof AppError ? err.details : undefined);
      done(body.code);
    }
  });
  if (!accepted) refuse(socket, ack, RATE_LIMITED, ctx.metrics);
}

function refuse(
  socket: ParleySocket,
  ack: AckFn | undefined,
  error: ErrorBody,
  metrics: Metrics,
  details?: object,
): void {
  metrics.errors.inc({ code: error.code, via: 'socket' });
  if (ack) ack({ ok: false, error, ...details });
  else tellError(socket, { message: error.message, code: error.code }, metrics);
}

/** Socket.IO's number for an event packet (`PacketType.EVENT` of socket.io-parser). */
const EVENT_PACKET = 2;

/**
 * The `error` event, written to the socket itself as an ack is. Not `socket.emit`: with REDIS_URL
 * (connection state recovery on) that passes every packet through the Redis stream so that it can
 * be replayed, and a flood of refused events from one socket would become a flood of stream
 * entries that every process reads, trimming other sockets' recovery offsets away. A refusal
 * answers the live connection; nothing about it is worth replaying.
 */
function tellError(
  socket: ParleySocket,
  body: { message: string; code: ErrorBody['code'] },
  metrics: Metrics,
): void {
  (socket as unknown as { packet(packet: object): void }).packet({
    type: EVENT_PACKET,
    data: ['error', body],
  });
  metrics.countDelivery('error');
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  const path = issue.path.join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
