import type { Logger } from 'pino';
import type { ParleySocket } from './types.js';

/**
 * What a socket's client has not read yet may grow only so far. Every event a client sends is
 * answered (an ack or an `error` event, refusals included) and every message of its chats is a
 * frame: a client that sends without ever reading makes the server queue those answers for as
 * long as it keeps the connection open, and a reader slower than its chats makes it queue their
 * frames. Past either bound the connection is cut without a close frame, which could not be read
 * either; a client that reconnects reads what it missed over HTTP, as after any disconnect.
 *
 * The kernel's socket buffer comes first (a few MB on Linux); then ws holds what the kernel did
 * not take, and once a write is pending engine.io holds the packets that come meanwhile. A reading
 * client empties both at every write: neither holds more than one event loop turn's frames.
 */
/** Bytes waiting: what ws holds beyond what the kernel took, and engine.io's queued packets. */
export const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
/**
 * Packets engine.io holds behind a pending write (or, polling, until the client's next poll).
 * Answers given in one turn of the event loop wait there for the turn's first write: a 64 KiB read
 * of the smallest events refused at once is about 6,500 of them, from a client that reads.
 */
export const MAX_UNSENT_PACKETS = 16_384;

/** The parts of engine.io's connection read here; none is in its public types. */
interface Connection {
  writeBuffer: { data?: string | ArrayBufferView }[];
  transport: { name: string; socket?: { bufferedAmount: number; terminate(): void } };
  close(discard: boolean): void;
}

const connectionOf = (socket: ParleySocket) => socket.conn as unknown as Connection;

const websocketOf = (connection: Connection) =>
  connection.transport.name === 'websocket' ? connection.transport.socket : undefined;

/**
 * How much output waits for the client: engine.io's packets, and bytes (ws's; with `weighQueue`
 * the queued packets' too, about: a string's length in UTF-16 units). Weighing the queue walks
 * it, so it is left to the sweep: an event of a flooding client checks the count alone.
 */
export function unsent(
  socket: ParleySocket,
  weighQueue: boolean,
): { packets: number; bytes: number } {
  const connection = connectionOf(socket);
  let bytes = websocketOf(connection)?.bufferedAmount ?? 0;
  if (weighQueue) {
    for (const { data } of connection.writeBuffer) {
      bytes += typeof data === 'string' ? data.length : (data?.byteLength ?? 0);
    }
  }
  return { packets: connection.writeBuffer.length, bytes };
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
  // Discarding: a plain close waits for the queue to drain, which this client never lets happen.
  // That disconnects the socket ('forced close'); ws would still try a closing handshake for 30 s
  // with the kernel's and its own buffers held, so the TCP connection is dropped now.
  connection.close(true);
  websocket?.terminate();
  return true;
}
