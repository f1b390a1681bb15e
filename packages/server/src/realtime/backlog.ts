import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ParleySocket } from './types.js';

// What a socket's client has not read yet may grow only so far. Every event a client sends is
// answered (an ack or an `error` event, refusals included) and every message of its chats is a
// frame: a client that sends without ever reading makes the server queue those answers for as
// long as it keeps the connection open, and a client that stops reading while its chats go on
// makes it queue their frames. Past either bound the connection is cut and the queue dropped; a
// client that reconnects reads what it missed over HTTP, as after any disconnect.
//
// The kernel's socket buffer comes first (up to a few MB on Linux, for a client that was reading
// fast); then, on a websocket, ws holds what the kernel did not take, and on either transport
// engine.io holds the packets that come while a write (or, polling, the next poll) is pending. A
// reading client empties both at every write: neither holds more than one event loop turn's frames.

/** Bytes waiting: what ws holds beyond what the kernel took, and engine.io's queued packets. */
export const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
/**
 * Packets engine.io holds behind a pending write (or, polling, until the client's next poll).
 * What one turn of the event loop emits waits there for the turn's first write to complete: for a
 * reading client a handful of answers (ws hands over one of its messages a turn, gateway.ts), and
 * the broadcasts of its chats, a group commit's worth at once: hundreds in a busy room.
 */
export const MAX_UNSENT_PACKETS = 16_384;

/** The parts of engine.io's connection read here; none is in its public types. */
interface Connection {
  writeBuffer?: { data?: string | ArrayBufferView }[];
  transport: {
    name: string;
    socket?: { bufferedAmount: number; _socket?: Socket | null; terminate(): void };
  };
  close(discard: boolean): void;
}

const NOTHING_QUEUED: NonNullable<Connection['writeBuffer']> = [];

/** engine.io's queue, read defensively: a release that renamed it must not crash the sweep. */
const queueOf = (connection: Connection) =>
  Array.isArray(connection.writeBuffer) ? connection.writeBuffer : NOTHING_QUEUED;

const connectionOf = (socket: ParleySocket) => socket.conn as unknown as Connection;

const websocketOf = (connection: Connection) =>
  connection.transport.name === 'websocket' ? connection.transport.socket : undefined;

/**
 * How much output waits for the client: engine.io's packets, and bytes (ws's; with `weighQueue`
 * the queued packets' too, as UTF-8). Weighing the queue walks it, so it is left to the sweep:
 * an event of a flooding client checks the count alone.
 */
function unsent(socket: ParleySocket, weighQueue: boolean): { packets: number; bytes: number } {
  const connection = connectionOf(socket);
  const queue = queueOf(connection);
  let bytes = websocketOf(connection)?.bufferedAmount ?? 0;
  if (weighQueue) {
    for (const { data } of queue) {
      bytes += typeof data === 'string' ? Buffer.byteLength(data) : (data?.byteLength ?? 0);
    }
  }
  return { packets: queue.length, bytes };
}

/**
 * Cuts the connection of a socket whose client stopped reading; true if it did. Called at each
 * event the socket sends and by the periodic sweep (`weighQueue`: a silent slow reader sends no
 * event, and its queue may hold few but large frames). Costs a few property reads when the
 * client keeps up.
 */
export function cutOffIfNotReading(socket: ParleySocket, log: Logger, weighQueue = false): boolean {
  const waiting = unsent(socket, weighQueue);
  if (waiting.packets <= MAX_UNSENT_PACKETS && waiting.bytes <= MAX_UNSENT_BYTES) return false;
  log.warn(
    { userId: socket.data.user.id, socketId: socket.id, unsent: waiting },
    'socket cut off: its client does not read what it is sent',
  );
  const connection = connectionOf(socket);
  const websocket = websocketOf(connection);
  // Disconnected first, for a reason Socket.IO does not keep the session for (REDIS_URL): a
  // recovered session would be sent its missed packets at once, the same backlog again. Then the
  // queue is discarded (a plain close waits for it to drain, which this client never lets happen)
  // and the TCP connection reset: closed gracefully, it would keep its unsent megabytes in the
  // kernel while it probes a window that never opens.
  socket.disconnect(true);
  connection.close(true);
  const tcp = websocket?._socket;
  if (tcp && !tcp.destroyed) tcp.resetAndDestroy();
  else websocket?.terminate();
  return true;
}
