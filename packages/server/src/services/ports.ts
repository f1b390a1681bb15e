import type { IceCandidate, UserSummary } from '@parley/protocol';

/**
 * What the services need from outside their rules, as small ports. Each has an in-process
 * implementation (services/in-process.ts, one server) and a Redis one (scale/, several processes
 * behind one REDIS_URL): nothing kept in one process's memory decides what another's user sees.
 */

/**
 * Who is online, counted in sockets across every process. A user is announced online by their
 * first socket anywhere, and offline only once their last one has been gone for a short grace
 * (a reload or a reconnect does not flap): `disconnect` says the grace starts, `settleOffline`
 * after it says whether to announce. Exactly one caller is told of each transition.
 */
export interface PresenceStore {
  /** Registers a live socket; true when the user must now be announced online. */
  connect(userId: string, socketId: string): Promise<boolean>;
  /** Unregisters it; true when that was the user's last socket anywhere (the grace starts). */
  disconnect(userId: string, socketId: string): Promise<boolean>;
  /** After the grace: true when the user still has no socket and must now be announced offline. */
  settleOffline(userId: string): Promise<boolean>;
  /** Those of `userIds` announced online (a user inside the grace still is). */
  onlineAmong(userIds: readonly string[]): Promise<Set<string>>;
  /**
   * Takes one of the user's `max` socket places for `socketId` (all processes together), as one
   * atomic step so that racing handshakes cannot exceed it; false when every place is taken.
   * Taken during the handshake, before the socket counts as connected.
   */
  claimPlace(userId: string, socketId: string, max: number): Promise<boolean>;
  /** Gives the place back; harmless when `socketId` holds none (it may be called twice). */
  releasePlace(userId: string, socketId: string): Promise<void>;
  /**
   * Forgets the sockets and places of processes that died (stopped renewing their lease) and
   * returns the users that leaves with no socket anywhere, with when they were last seen (their
   * process's last sign of life), to announce offline. Run periodically by every process; each
   * dead process's users are returned to one caller only.
   */
  sweep(): Promise<{ userId: string; lastSeenAt: Date }[]>;
  /**
   * This process stops (a clean shutdown; its sockets have disconnected): its registration goes.
   * Users waiting out their grace are left to the other processes (a user who reconnects to one
   * of them must not flap), unless none is left: then they are returned, with when their last
   * socket went, to announce offline now. Nothing else is called afterwards.
   */
  leave(): Promise<{ userId: string; lastSeenAt: Date }[]>;
}

/**
 * Who is typing where, with expiry. `onExpire` runs in the process whose timer finds the indicator
 * lapsed (exactly one, whichever process renewed it last).
 */
export interface TypingStore {
  /** Starts or renews; true when the user was not typing there already (news to the others). */
  start(chatId: string, userId: string, socketId: string, onExpire: () => void): Promise<boolean>;
  /** Pushes back the expiry of the user's indicator there, now `socketId`'s; false if none. */
  renew(chatId: string, userId: string, socketId: string, onExpire: () => void): Promise<boolean>;
  /** True when the user was typing there. */
  stop(chatId: string, userId: string): Promise<boolean>;
  /** Ends every entry the socket (one of this process's) holds; returns them, for `typing:stop`. */
  dropSocket(socketId: string): Promise<{ chatId: string; userId: string }[]>;
  /**
   * Ends the indicators held by processes that died, returning them once (to one caller), for
   * the `typing:stop` their process can no longer send. Run periodically by every process.
   */
  sweep(): Promise<{ chatId: string; userId: string }[]>;
  /** Forgets this process's timers (shutdown). */
  clear(): void;
}

/** Counts attempts per key; throws `rate_limited` once the allowance is spent. */
export interface RateLimiter {
  consume(key: string): Promise<void>;
}

/** A RateLimiter that counts failures only: an attempt that succeeds is given back. */
export interface FailureLimiter extends RateLimiter {
  refund(key: string): Promise<void>;
}

/** A call as the store keeps it while it rings or runs. */
export interface CallRecord {
  callId: string;
  chatId: string;
  media: 'audio' | 'video';
  /** The caller, as `call:incoming` shows them and as the call's system lines are sent by. */
  caller: UserSummary;
  calleeId: string;
  /** The caller's socket in the call: the one that invited. */
  callerSocket: string;
  /** The callee's socket in the call: the one that answered; null while it rings. */
  calleeSocket: string | null;
  /** When it was answered (ms since the epoch, the store's clock); null while it rings. */
  answeredAt: number | null;
}

/** A call that has just ended, handed to the one caller that ended it. */
export interface EndedCall extends CallRecord {
  /** When it ended, on the same clock as `answeredAt`. */
  endedAt: number;
}

/** What `CallStore.find` knows of a call id: a live call, or one that ended (its parties only). */
export type FoundCall =
  | ({ state: 'ringing' | 'connected' } & CallRecord)
  | { state: 'ended'; callerId: string; calleeId: string };

/**
 * Calls, shared by every process: each transition is one atomic step, so that of racing
 * processes (an answer and the ring timeout, two hang-ups, a disconnect) one alone wins, and a
 * call ends once. A call id, once used, stays taken for a day (ended calls leave a tombstone).
 */
export interface CallStore {
  /**
   * Records a ringing call, unless its id was used before ('conflict') or either party is in
   * another call, ringing or connected ('busy': the id is taken all the same). `ringMs` is when
   * it counts as missed, for `sweep` (the inviting process's own timer normally comes first).
   */
  invite(call: CallRecord, ringMs: number): Promise<'created' | 'busy' | 'conflict'>;
  find(callId: string): Promise<FoundCall | undefined>;
  /**
   * The callee's `socketId` takes a ringing call: it is connected from now on. Returns the call
   * and the caller's candidates that waited for a socket to go to; else the state that refused it.
   */
  answer(
    callId: string,
    socketId: string,
  ): Promise<
    | { call: CallRecord; candidates: IceCandidate[] }
    | { refused: 'connected' | 'ended' | 'missing' }
  >;
  /**
   * Where a candidate from `socketId` goes: the other party's socket in the call; 'held' when the
   * caller's comes while it rings (kept for the socket that answers); 'ended'; or 'elsewhere'
   * when `socketId` is not a socket in the call.
   */
  relay(
    callId: string,
    socketId: string,
    candidate: IceCandidate,
  ): Promise<{ to: string } | 'held' | 'ended' | 'elsewhere' | 'missing'>;
  /**
   * Ends the call, once: the one caller that ends it gets it back, every other undefined.
   * `ringingOnly`: only if nobody answered it yet (the ring timeout).
   */
  end(callId: string, ringingOnly?: boolean): Promise<EndedCall | undefined>;
  /** The call the user is in (ringing or connected), if any. */
  callOf(userId: string): Promise<string | undefined>;
  /**
   * Ends the calls whose ring ran out or whose party's socket was on a process that died, each
   * returned to one caller only. Run periodically by every process (nothing, for one process).
   */
  sweep(): Promise<{ call: EndedCall; reason: 'missed' | 'disconnected' }[]>;
}

/**
 * Where uploaded bytes live (storage/disk.ts: files under DATA_DIR/uploads, shared by every
 * process). A key's bytes first grow under a temporary name, which `commit` turns into the key
 * once whole: a crash never leaves a partial file under a key. The temporary object's length is
 * the truth of what has been received, whichever process asks.
 */
export interface UploadStorage {
  /** Makes the key's empty temporary object, where an upload in chunks grows. */
  create(key: string): Promise<void>;
  /**
   * Appends `data` if the temporary object holds exactly `offset` bytes, one append at a time per
   * key across processes. `missing`: there is no temporary object (committed, or swept).
   */
  append(
    key: string,
    offset: number,
    data: Uint8Array,
  ): Promise<{ status: 'appended' | 'conflict'; received: number } | { status: 'missing' }>;
  /**
   * Writes `source` whole as the key's temporary object, never holding it in memory. Past `limit`
   * bytes it stops, removes what it wrote and rejects with `payloadTooLarge(limit)`.
   */
  write(key: string, source: NodeJS.ReadableStream, limit: number): Promise<number>;
  /** Runs `work` while no append can change the key's temporary object. */
  exclusive<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Durably turns the temporary object into the key's (it is there whole, or not at all). */
  commit(key: string): Promise<void>;
  /** A local file of the key (or of its temporary object) for decoders that read or write paths. */
  file(key: string, temporary?: boolean): string;
  /** Bytes of the key (or of its temporary object); undefined when there is none. */
  size(key: string, temporary?: boolean): Promise<number | undefined>;
  /** The key's bytes, or those from `start` to `end` inclusive. */
  read(key: string, range?: { start: number; end: number }): NodeJS.ReadableStream;
  /** Removes the keys and their temporary objects; what is not there is no error. */
  delete(keys: readonly string[]): Promise<void>;
}

/** The state every process must agree on: in memory for one process, in Redis for several. */
export interface SharedState {
  readonly presence: PresenceStore;
  readonly typing: TypingStore;
  readonly calls: CallStore;
  /**
   * `points` attempts per `durationSeconds` per key, counted under `name` (distinct per use);
   * 0 points turns the limit off.
   */
  limiter(name: string, points: number, durationSeconds: number): FailureLimiter;
  /** For `GET /api/health`: whether Redis answers; undefined when there is none. */
  redisStatus(): 'up' | 'down' | undefined;
  /** Stops timers and lease renewals; the process's sockets are left for `sweep` or close. */
  close(): Promise<void>;
}
