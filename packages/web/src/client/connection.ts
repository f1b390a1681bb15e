// The socket's life: connect, notice drops, reconnect where socket.io will not, and end the
// session when the server refuses the token. Server events are parsed here, one schema each,
// before any other module sees them.
import type { ServerToClientEvents } from '@parley/protocol';
import { ApiError, api } from '../api.js';
import { presenceUnknown } from '../state.js';
import type { Session } from './session.js';

type Timer = ReturnType<typeof setTimeout>;

/** Server payloads are parsed, not trusted: one schema per event. */
export interface Schema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: unknown };
}

export type EventPayload<E extends keyof ServerToClientEvents> = Parameters<
  ServerToClientEvents[E]
>[0];

export interface ConnectionHooks {
  /** Every connect; `again` is false only for the session's first. */
  connected(again: boolean): void;
  disconnected(): void;
}

export class Connection {
  private everConnected = false;
  private reconnectTimer: Timer | undefined;

  constructor(
    private readonly session: Session,
    private readonly hooks: ConnectionHooks,
  ) {}

  get connected(): boolean {
    return this.session.socket.connected;
  }

  start(): void {
    const { socket, store } = this.session;
    socket.on('connect', () => {
      const again = this.everConnected;
      this.everConnected = true;
      store.update((s) => ({ ...s, connection: 'online' }));
      this.hooks.connected(again);
    });
    socket.on('disconnect', (reason) => {
      // Offline, presence and typing are no longer known: neither is shown until the reconnect
      // (whose chat list brings everyone's status again).
      store.update((s) => presenceUnknown({ ...s, connection: 'offline', typing: {} }));
      this.hooks.disconnected();
      // A server-side disconnect is not retried by socket.io; a restarting server is.
      if (reason === 'io server disconnect') this.scheduleReconnect();
    });
    socket.on('connect_error', (err) => {
      store.update((s) => presenceUnknown({ ...s, connection: 'offline' }));
      // A refused handshake (bad token) is not retried by socket.io: find out why, then act.
      if (!socket.active) void this.checkSessionThenReconnect(err.message);
    });
    socket.connect();
  }

  stop(): void {
    clearTimeout(this.reconnectTimer);
    this.session.socket.removeAllListeners();
    this.session.socket.disconnect();
  }

  /** Listens to a server event, handing the handler only payloads its schema accepts. */
  on<E extends keyof ServerToClientEvents>(
    event: E,
    schema: Schema<EventPayload<E>>,
    handler: (payload: EventPayload<E>) => void,
  ): void {
    const listener = (payload: unknown) => {
      const parsed = schema.safeParse(payload);
      if (parsed.success) handler(parsed.data);
      else console.error(`Ignored a malformed ${event} event`, parsed.error);
    };
    // socket.io's typings cannot follow a generic event name to its listener; the signature
    // above already ties the schema and the handler to the event.
    const on = this.session.socket.on.bind(this.session.socket) as (
      event: string,
      listener: (payload: unknown) => void,
    ) => unknown;
    on(event, listener);
  }

  private scheduleReconnect(delayMs = 1_000): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.session.stopped && !this.session.socket.connected) this.session.socket.connect();
    }, delayMs);
  }

  /** The session's token changed (a password change): connect with it now if the old one was dropped. */
  tokenReplaced(): void {
    if (!this.session.stopped && !this.session.socket.connected && !this.session.socket.active) {
      this.scheduleReconnect(0);
    }
  }

  private async checkSessionThenReconnect(reason: string): Promise<void> {
    const token = this.session.token;
    try {
      await api.me(token);
      console.warn('Socket refused:', reason);
      this.scheduleReconnect(3_000);
    } catch (err) {
      // A token replaced meanwhile (a password change) was expected to end: try the new one.
      if (token !== this.session.token) this.scheduleReconnect(0);
      else if (err instanceof ApiError && err.code === 'unauthorized') this.session.endSession();
      else this.scheduleReconnect(3_000);
    }
  }
}
