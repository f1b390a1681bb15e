import type { Socket as NetSocket } from 'node:net';
import type { ClientSocket } from './client.js';
import type { ChildServer } from './process.js';

// For the tests of clients that stop reading (realtime/backlog.ts).

/**
 * How long a cut-off test keeps filling a connection that does not read: a few seconds here, the
 * rest for a loaded CI machine (what the kernel absorbs first differs from machine to machine).
 */
export const CUT_OFF_PATIENCE_MS = 25_000;

/** The server's warning that it cut off a socket of this user, parsed; undefined before. */
export function cutOffLine(
  child: ChildServer,
  userId: string,
): Record<string, unknown> | undefined {
  const line = child
    .stdout()
    .split('\n')
    .find((l) => l.includes('socket cut off') && l.includes(userId));
  return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
}

/** The TCP connection under a websocket client's transport: to stop reading it. */
export const rawSocketOf = (socket: ClientSocket) =>
  (socket.io.engine.transport as unknown as { ws: { _socket: NetSocket } }).ws._socket;
