import type {
  Ack,
  ClientToServerEvents,
  Message,
  MessageSendPayload,
  ServerToClientEvents,
} from '@parley/protocol';
import { io, type Socket } from 'socket.io-client';

export type ParleySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Same origin: in production the server serves this app, in development Vite proxies to it. */
export function createSocket(token: string): ParleySocket {
  return io({ auth: { token }, autoConnect: false });
}

export type SendResult = Ack<{ message: Message }> | { ok: false; timedOut: true };

/**
 * `message:send` with a deadline: an acknowledgement lost with a dropped connection never
 * arrives, and the person must then be offered a retry (which is safe: same clientMessageId).
 */
export function sendMessage(
  socket: ParleySocket,
  payload: MessageSendPayload,
  timeoutMs: number,
): Promise<SendResult> {
  return new Promise((resolve) => {
    // socket.io's own `timeout()` cannot type an optional acknowledgement, so race a timer.
    const timer = setTimeout(() => resolve({ ok: false, timedOut: true }), timeoutMs);
    socket.emit('message:send', payload, (ack) => {
      clearTimeout(timer);
      resolve(ack);
    });
  });
}

type AckedEvent = 'message:edit' | 'message:delete' | 'reaction:add' | 'reaction:remove';
type AckOf<E extends AckedEvent> = Parameters<Parameters<ClientToServerEvents[E]>[1] & object>[0];

/** A client event with its acknowledgement, or `timedOut` when none comes in time. */
export function emitWithAck<E extends AckedEvent>(
  socket: ParleySocket,
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
  timeoutMs: number,
): Promise<AckOf<E> | { ok: false; timedOut: true }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, timedOut: true }), timeoutMs);
    // One call for four events: socket.io's typings cannot follow a generic event name.
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
