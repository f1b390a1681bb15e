import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import type { SharedState } from '../services/ports.js';
import { RedisCalls } from './calls.js';
import { streamsAdapter, type AdapterFactory, type AdapterOptions } from './adapter.js';
import {
  boundCommands,
  OutageNotes,
  reason,
  RedisTimeoutError,
  type RedisClient,
} from './client.js';
import { redisLimiter } from './limiter.js';
import { RedisPresence } from './presence.js';
import { RedisTyping } from './typing.js';

/** What several processes behind one REDIS_URL share: the state and Socket.IO's delivery. */
export interface RedisScale {
  readonly state: SharedState;
  /** For `new Server(..., { adapter })`: rooms and emits across every process. */
  readonly adapter: AdapterFactory;
  /** Deregisters this process (announcing nothing) and closes its Redis connections. */
  close(): Promise<void>;
}

export interface RedisScaleOptions {
  typingTimeoutMs: number;
  /** Prefix of every key, stream and channel, so that several deployments (or test runs) can share one Redis. */
  prefix?: string;
  /** How long start waits for Redis before it fails. */
  startTimeoutMs?: number;
  /**
   * How long a call of the shared state waits for an answer before it fails (or, for presence
   * reads, places and limits, is answered by this process alone).
   */
  callTimeoutMs?: number;
  /**
   * How long a publish of the Socket.IO adapter waits for Redis: the adapter delivers to this
   * process's own sockets only after its publish settles, so this bounds local delivery too.
   */
  publishTimeoutMs?: number;
  /** A process's lease, and how often it renews it: its users go offline this long after it dies (plus a sweep's period). */
  leaseTtlMs?: number;
  renewEveryMs?: number;
  /** How long a user left without sockets may stay online when nobody settled them (their process died inside the grace). */
  orphanMs?: number;
  /**
   * Users to announce online again after this process re-registered its sockets: Redis had lost
   * them (a restart without persistence, or another process swept this one while it was cut off).
   */
  onPresenceRestored?: (userIds: string[]) => void;
  /**
   * Called once each time the adapter's publishing connection works again after an outage (down,
   * or not answering), never at the first start: what other processes published meanwhile (room
   * moves, sign-outs) may never have reached this one, so each local socket's rooms and token are
   * worth checking again.
   */
  onDeliveryRestored?: () => void;
  /** Passed on to the streams adapter (maxLen and such); its names are prefixed here. */
  adapter?: AdapterOptions;
}

/**
 * Connects to Redis and returns the shared state of a process among several.
 *
 * Two connections of ours, each with an 'error' listener (node-redis emits one at every failed
 * reconnection attempt, and an unheard 'error' ends the process) and reconnecting forever with a
 * capped backoff:
 * - `store`, for presence, typing and limits, has no offline queue: a call made while Redis is
 *   down fails at once, and each caller decides (see each port's methods: writes reject with
 *   `unavailable`; presence reads, places and limits are answered by this process alone);
 * - `bus`, for the Socket.IO adapter, fails fast as well, and the adapter's own reader and
 *   subscriber (copies of it) queue instead: see adapter.ts.
 * Both bound every command (`boundCommands`): a Redis that stops answering without closing the
 * connection fails a call after `callTimeoutMs` (store) or `publishTimeoutMs` (bus), and then
 * every call at once until it answers again. An outage, down or frozen, is logged once when it
 * starts and once when it ends, and `redisStatus()` says 'down' while either connection is in one.
 *
 * Start fails, rather than waiting forever, when Redis does not answer within `startTimeoutMs`
 * (10 s): a process that cannot reach Redis at boot is misconfigured more often than unlucky, and
 * the supervisor that restarts it says so in its log. node-redis's `connect()` itself never gives
 * up while the reconnect strategy returns a delay, so the strategy does it, until the first
 * connection succeeds.
 */
export async function connectRedis(
  url: string,
  log: Logger,
  opts: RedisScaleOptions,
): Promise<RedisScale> {
  const prefix = opts.prefix ?? 'parley:';
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const callTimeoutMs = opts.callTimeoutMs ?? 2_000;
  const publishTimeoutMs = opts.publishTimeoutMs ?? 1_000;
  const leaseTtlMs = opts.leaseTtlMs ?? 10_000;
  const renewEveryMs = opts.renewEveryMs ?? 3_000;
  const orphanMs = opts.orphanMs ?? 15_000;
  const pid = randomUUID();
  // Never the URL itself in a log or an error: it may carry a password.
  const where = redisHost(url);
  const began = Date.now();
  let started = false;

  const reconnectStrategy = (retries: number, cause: Error): number | Error => {
    if (!started && Date.now() - began >= startTimeoutMs) {
      return new Error(
        `Redis at ${where} did not answer within ${startTimeoutMs / 1000} s (${cause.message})`,
      );
    }
    return Math.min(100 * 2 ** retries, 2_000) + Math.floor(Math.random() * 200);
  };
  const newClient = (): RedisClient =>
    createClient({
      url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy, connectTimeout: 5_000 },
    });

  const store = newClient();
  const bus = newClient();
  const notes = new OutageNotes(log);
  const outage = trackOutage(log, where, notes);
  const presence = new RedisPresence(
    store,
    prefix,
    pid,
    { leaseTtlMs, renewEveryMs, orphanMs },
    log,
    notes,
    opts.onPresenceRestored ?? (() => {}),
  );
  const typing = new RedisTyping(store, prefix, pid, opts.typingTimeoutMs, log, notes, () =>
    presence.maySweep(),
  );
  const calls = new RedisCalls(store, prefix, pid, () => presence.maySweep());
  const onDeliveryRestored = opts.onDeliveryRestored ?? (() => {});
  const storeLink = outage.watch(store, callTimeoutMs, () => presence.reconnected());
  const busLink = outage.watch(bus, publishTimeoutMs, () => {
    try {
      onDeliveryRestored();
    } catch (err) {
      log.error({ err }, 'redis: delivery restore failed');
    }
  });

  try {
    await Promise.all([store.connect(), bus.connect()]);
  } catch (err) {
    await Promise.all([quit(store), quit(bus)]);
    // When the strategy gives up, node-redis rejects with the strategy's message.
    const message = reason(err);
    throw new Error(message.startsWith('Redis at') ? message : `Redis at ${where}: ${message}`, {
      cause: err,
    });
  }
  started = true;
  outage.started();

  try {
    await presence.start();
  } catch (err) {
    await Promise.all([quit(store), quit(bus)]);
    throw new Error(`Redis at ${where}: ${reason(err)}`, { cause: err });
  }

  const delivery = streamsAdapter(bus, prefix, opts.adapter);
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      typing.clear();
      await presence.close();
      outage.stop();
      delivery.close();
      await Promise.all([quit(store), quit(bus)]);
    })());

  const state: SharedState = {
    presence,
    typing,
    calls,
    limiter: (name, points, durationSeconds) =>
      redisLimiter(store, prefix, name, points, durationSeconds, callTimeoutMs),
    redisStatus: () => (storeLink.healthy && busLink.healthy ? 'up' : 'down'),
    close,
  };
  return { state, adapter: delivery.adapter, close };
}

/** host:port of a Redis URL, without credentials. */
function redisHost(url: string): string {
  try {
    return new URL(url).host || 'localhost:6379';
  } catch {
    return 'the configured REDIS_URL';
  }
}

/** One of our connections, as the outage tracker sees it. */
interface Link {
  /** Connected, and answering: neither down nor frozen. */
  readonly healthy: boolean;
}

/**
 * Logs an outage once when it starts (the first of our connections to lose Redis or find it not
 * answering) and once when it ends (the last one back). node-redis emits 'error' at every failed
 * reconnection attempt, and an 'error' without a listener would crash the process, so every client
 * gets one here. `onBack` runs each time that connection works again after an outage of its own.
 */
function trackOutage(log: Logger, where: string, notes: OutageNotes) {
  const down = new Set<RedisClient>();
  let live = false;
  let stopped = false;
  const fell = (client: RedisClient, err: unknown) => {
    if (down.size === 0) log.warn({ redis: where, err: reason(err) }, 'redis: down');
    down.add(client);
  };
  const rose = (client: RedisClient, onBack: () => void) => {
    if (!down.delete(client)) return;
    if (down.size === 0) {
      log.info({ redis: where }, 'redis: back');
      notes.reset();
    }
    onBack();
  };
  return {
    watch(client: RedisClient, timeoutMs: number, onBack: () => void): Link {
      const stall = boundCommands(
        client,
        timeoutMs,
        () => {
          if (live && !stopped) {
            fell(client, new RedisTimeoutError(`Redis did not answer within ${timeoutMs} ms`));
          }
        },
        () => {
          if (live && !stopped) rose(client, onBack);
        },
      );
      client.on('error', (err: unknown) => {
        if (!live || stopped || !client.isOpen) return; // start reports its own failure
        // Still ready: an error that did not cost the connection (a reply it could not parse).
        if (client.isReady) return log.warn({ redis: where, err: reason(err) }, 'redis: error');
        fell(client, err);
      });
      client.on('ready', () => {
        stall.reset(); // a new connection: whatever froze the old one is gone
        if (live && !stopped) rose(client, onBack);
      });
      return {
        get healthy() {
          return client.isReady && !stall.stalled;
        },
      };
    },
    started() {
      live = true;
    },
    stop() {
      stopped = true;
    },
  };
}

/** Closes a client whatever its state: waits a moment for pending replies, never for Redis to return. */
async function quit(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  if (!client.isReady) {
    client.destroy(); // also ends a reconnection loop
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)));
  await Promise.race([client.close(), late]);
  clearTimeout(timer);
  // A frozen Redis never answers the close: end the connection without it.
  if (client.isOpen) client.destroy();
}
