import type { Logger } from 'pino';
import { clientEventSchemas, type ClientToServerEvents } from '@parley/protocol';
import type { z } from 'zod';
import { errorBody, validationFailed } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import type { RoomMoves } from './room-moves.js';
import type { ParleySocket } from './types.js';

type EventName = keyof ClientToServerEvents;
type Payload<E extends EventName> = z.output<(typeof clientEventSchemas)[E]>;
type AckExtra = object | void;

export interface HandlerContext {
  lifecycle: Lifecycle;
  log: Logger;
  rooms: RoomMoves;
}

/**
 * The one shape of every client event: parse the payload with its schema, run the handler (which
 * authorizes and calls a service), then ack `{ ok: true, ...result }`, or `{ ok: false, error }`.
 * A failed event without a callback gets an `error` event instead. Nothing a client sends can
 * throw past here, so bad input never touches other sockets.
 */
export function handle<E extends EventName>(
  socket: ParleySocket,
  ctx: HandlerContext,
  event: E,
  handler: (payload: Payload<E>) => Promise<AckExtra>,
): void {
  const schema = clientEventSchemas[event];
  const listener = (...args: unknown[]) => {
    const ack =
      typeof args.at(-1) === 'function' ? (args.pop() as (r: unknown) => void) : undefined;
    void (async () => {
      try {
        const parsed = schema.safeParse(args[0]);
        if (!parsed.success) throw validationFailed(describe(parsed.error));
        const result = await ctx.lifecycle.run(() => handler(parsed.data as Payload<E>));
        ack?.({ ok: true, ...(result ?? {}) });
      } catch (err) {
        const body = errorBody(err);
        if (body.code === 'internal') ctx.log.error({ err, event }, 'socket event failed');
        if (ack) ack({ ok: false, error: body });
        else socket.emit('error', { message: body.message, code: body.code });
      }
    })();
  };
  socket.on(event, listener as never);
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  const path = issue.path.join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/**
 * An event the protocol does not define is bad input too: answered with `validation_failed`
 * (ack or `error` event), so a client waiting on an ack never hangs.
 */
export function refuseUnknownEvents(socket: ParleySocket): void {
  socket.use((packet, next) => {
    const [event] = packet;
    if (typeof event === 'string' && Object.hasOwn(clientEventSchemas, event)) {
      next();
      return;
    }
    const message = `unknown event ${JSON.stringify(String(event).slice(0, 64))}`;
    const ack: unknown = packet.at(-1);
    if (typeof ack === 'function') {
      (ack as (r: unknown) => void)({ ok: false, error: { code: 'validation_failed', message } });
    } else {
      socket.emit('error', { message, code: 'validation_failed' });
    }
  });
}
