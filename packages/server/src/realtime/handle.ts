import type { Logger } from 'pino';
import { clientEventSchemas, type ClientToServerEvents, type ErrorBody } from '@parley/protocol';
import type { z } from 'zod';
import { AppError, errorBody, rateLimited, validationFailed } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Metrics } from '../metrics.js';
import type { SocketFlow } from './flow.js';
import type { ParleySocket } from './types.js';

type EventName = keyof ClientToServerEvents;
type Payload<E extends EventName> = z.output<(typeof clientEventSchemas)[E]>;
type AckExtra = object | void;
type AckFn = (response: unknown) => void;

/** What every socket's handlers share. */
export interface GatewayContext {
  lifecycle: Lifecycle;
  log: Logger;
  metrics: Metrics;
}

/** The context of one socket's handlers: the shared one, and that socket's flow. */
export interface HandlerContext extends GatewayContext {
  flow: SocketFlow;
}

const RATE_LIMITED = errorBody(rateLimited());

/**
 * The one shape of every client event: parse the payload with its schema, run the handler (which
 * authorizes and calls a service) once the socket has a free slot, then ack
 * `{ ok: true, ...result }`, or `{ ok: false, error }`. A failed event without a callback gets an
 * `error` event instead. Nothing a client sends can throw past here, so bad input never touches
 * other sockets.
 */
export function handle<E extends EventName>(
  socket: ParleySocket,
  ctx: HandlerContext,
  event: E,
  handler: (payload: Payload<E>) => Promise<AckExtra>,
): void {
  const schema = clientEventSchemas[event];
  const listener = (...args: unknown[]) => {
    const started = performance.now();
    const ack = typeof args.at(-1) === 'function' ? (args.pop() as AckFn) : undefined;
    const done = (outcome: string) =>
      ctx.metrics.events.observe({ event, outcome }, (performance.now() - started) / 1000);
    const parsed = schema.safeParse(args[0]);
    if (!parsed.success) {
      refuse(socket, ack, errorBody(validationFailed(describe(parsed.error))), ctx.metrics);
      done('validation_failed');
      return;
    }
    const accepted = ctx.flow.run(async () => {
      try {
        const result = await ctx.lifecycle.run(() => handler(parsed.data as Payload<E>));
        ack?.({ ok: true, ...(result ?? {}) });
        done('ok');
      } catch (err) {
        const body = errorBody(err);
        if (body.code === 'internal') ctx.log.error({ err, event }, 'socket event failed');
        refuse(socket, ack, body, ctx.metrics, err instanceof AppError ? err.details : undefined);
        done(body.code);
      }
    });
    if (!accepted) refuseRateLimited(socket, ack, ctx.flow, ctx.metrics);
  };
  socket.on(event, listener as never);
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
  else socket.emit('error', { message: error.message, code: error.code });
}

/**
 * A flood is answered in kind only when it asked for answers: an event with an ack always gets
 * its `rate_limited`, but a socket that sends without acks hears of the limit once per window,
 * not once per event (thousands of `error` frames would pile up for a client that may not read).
 */
function refuseRateLimited(
  socket: ParleySocket,
  ack: AckFn | undefined,
  flow: SocketFlow,
  metrics: Metrics,
): void {
  if (ack || flow.tellRefusal()) refuse(socket, ack, RATE_LIMITED, metrics);
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  const path = issue.path.join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/**
 * Every event packet passes here first, before any parsing: past the socket's RATE_LIMIT_EVENTS
 * it is answered `rate_limited`; an event the protocol does not define (which counts too) is
 * answered `validation_failed`. Either way as an ack or the `error` event, so a client waiting
 * on an ack never hangs.
 */
export function screenEvents(socket: ParleySocket, flow: SocketFlow, metrics: Metrics): void {
  socket.use((packet, next) => {
    const [event] = packet;
    const last: unknown = packet.at(-1);
    const ack = typeof last === 'function' ? (last as AckFn) : undefined;
    if (!flow.admit()) {
      refuseRateLimited(socket, ack, flow, metrics);
    } else if (typeof event === 'string' && Object.hasOwn(clientEventSchemas, event)) {
      next();
    } else {
      refuse(
        socket,
        ack,
        {
          code: 'validation_failed',
          message: `unknown event ${JSON.stringify(String(event).slice(0, 64))}`,
        },
        metrics,
      );
    }
  });
}
