import type { ClientToServerEvents, ServerToClientEvents } from '@parley/protocol';
import { io, type Socket } from 'socket.io-client';

export type ParleySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Same origin: in production the server serves this app, in development Vite proxies to it. */
export function createSocket(token: string): ParleySocket {
  return io({ auth: { token }, autoConnect: false });
}

/** What a client event's acknowledgement answers (every client event takes one). */
export type AckOf<E extends keyof ClientToServerEvents> = Parameters<
  NonNullable<Parameters<ClientToServerEvents[E]>[1]>
>[0];

/** No acknowledgement in time: lost with a dropped connection, or a server that hangs. */
export interface TimedOut {
  ok: false;
  timedOut: true;
}

/**
 * A client event with its acknowledgement, or `timedOut` when none comes in time: an ack lost
 * with a dropped connection never arrives, and the caller must then decide (offer a retry, ask
 * again, end the call) rather than wait for ever.
 */
export function emitWithAck<E extends keyof ClientToServerEvents>(
  socket: ParleySocket,
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
  timeoutMs: number,
): Promise<AckOf<E> | TimedOut> {
  return new Promise((resolve) => {
    // socket.io's own `timeout()` cannot type an optional acknowledgement, so race a timer.
    const timer = setTimeout(() => resolve({ ok: false, timedOut: true }), timeoutMs);
    // One call for every event: socket.io's typings cannot follow a generic event name.
    const emit = socket.emit.bind(socket) as (
      event: string,
      payload: unknown,
      ack: (answer: AckOf<E>) => void,
    ) => unknown;
    emit(event, payload, (ack) => {
      clearTimeout(timer);
      resolve(ack);
    });
  });
}

/** A v4 UUID; `crypto.randomUUID` exists only in secure contexts (https or localhost). */
export function newClientMessageId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
