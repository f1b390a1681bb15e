import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { RedisClient } from './client.js';

export type AdapterFactory = ReturnType<typeof createAdapter>;
/** The adapter's options (maxLen, readCount, ...) but its names, which follow our prefix. */
export type AdapterOptions = Omit<
  NonNullable<Parameters<typeof createAdapter>[1]>,
  'streamName' | 'channelPrefix' | 'sessionKeyPrefix'
>;

/*
 * How @socket.io/redis-streams-adapter 0.3.1 uses the client it is given (dist/adapter.js):
 * - it publishes on it (XADD, PUBLISH, SET), and `broadcast`, `addSockets`, `delSockets` and
 *   `disconnectSockets` await the XADD before acting on the process's own sockets: with
 *   node-redis's offline queue, a Redis outage would hold every broadcast and room move, local
 *   ones too, until Redis is back. So the client we give it has no offline queue (while Redis is
 *   down an XADD fails at once) and its commands are bounded (redis.ts: a frozen Redis fails an
 *   XADD after `publishTimeoutMs`, then every one at once until it answers, in the order made):
 *   local delivery goes on, and the other processes' clients catch up by `seq`.
 * - it duplicates it for a stream reader and a subscriber. The reader's XREAD loop retries at once
 *   on an error, so without the offline queue it would spin while Redis is down: the duplicates
 *   get it back, and XREAD waits for Redis instead. The bound on commands stays with the
 *   original (a copy is a new client): an XREAD BLOCKs for `blockTimeInMs` by design.
 * - it drops the promises of PUBLISH (ephemeral messages), SET (persistSession) and SUBSCRIBE:
 *   one that rejects would be an unhandled rejection, which ends a Node process. Those calls are
 *   wrapped here to swallow their errors (an outage is logged once, by the connection; a lost
 *   session means an ordinary reconnect).
 */

const FIRE_AND_FORGET = ['publish', 'sPublish', 'set', 'subscribe', 'sSubscribe'];

type AnyMethod = (...args: unknown[]) => unknown;

function swallowDroppedRejections(client: RedisClient): void {
  const methods = client as unknown as Record<string, AnyMethod>;
  for (const name of FIRE_AND_FORGET) {
    const original = methods[name]!;
    methods[name] = (...args) =>
      (original.apply(client, args) as Promise<unknown>).catch(() => undefined);
  }
}

/**
 * The adapter factory for `new Server(..., { adapter })`, made on first use (Socket.IO calls it once
 * per namespace) so that a process that never serves sockets holds no reader or subscriber.
 * `close` ends what the adapter opened, whichever of Socket.IO's close and ours comes first.
 */
export function streamsAdapter(
  bus: RedisClient,
  prefix: string,
  options: AdapterOptions | undefined,
): { adapter: AdapterFactory; close(): void } {
  swallowDroppedRejections(bus);
  const duplicates = new Set<RedisClient>();
  const duplicate = bus.duplicate.bind(bus);
  (bus as { duplicate: unknown }).duplicate = (overrides?: object) => {
    const copy = duplicate({ ...overrides, disableOfflineQueue: false });
    swallowDroppedRejections(copy);
    // The adapter disconnects its copies when it closes; after ours did, that must not throw.
    (copy as { disconnect: unknown }).disconnect = () => {
      if (copy.isOpen) copy.destroy();
      return Promise.resolve();
    };
    duplicates.add(copy);
    return copy;
  };

  let factory: AdapterFactory | undefined;
  const adapters: { close(): unknown }[] = [];
  // A function, not an arrow: Socket.IO calls it with `new`.
  const adapter: AdapterFactory = function (nsp) {
    factory ??= createAdapter(bus, {
      ...options,
      streamName: `${prefix}socket.io`,
      channelPrefix: `${prefix}socket.io`,
      sessionKeyPrefix: `${prefix}sio:session:`,
    });
    const made = factory(nsp);
    let closed = false;
    const close = made.close.bind(made);
    made.close = () => {
      if (closed) return;
      closed = true;
      return close();
    };
    adapters.push(made);
    return made;
  };

  return {
    adapter,
    close() {
      // Closing every namespace's adapter aborts the reader loop; destroying the copies then ends
      // an XREAD that would otherwise wait for a Redis that is down.
      for (const made of adapters) made.close();
      for (const copy of duplicates) if (copy.isOpen) copy.destroy();
    },
  };
}
