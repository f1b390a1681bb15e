// What every part of one signed-in session shares: the token, the store, the socket, which chat
// is on screen, and what to do with a failure.
import { ApiError } from '../api.js';
import type { ParleySocket } from '../socket.js';
import { errorText } from './errors.js';
import type { Store } from './store.js';

export class Session {
  /** The chat shown on screen; null for none. */
  openChatId: string | null = null;
  /** A chat whose message list is scrolled up, away from its newest messages (read-marks.ts). */
  scrolledUpIn: string | null = null;

  constructor(
    private current: string,
    readonly store: Store,
    readonly socket: ParleySocket,
    /** Told which token ended: after a password change, the old one's end is no news. */
    private readonly onSessionEnded: (token: string) => void,
  ) {}

  /** The token every request and (re)connect uses now. */
  get token(): string {
    return this.current;
  }

  /**
   * A password change ends every earlier token and hands out a new one: the session goes on
   * with it. The socket's next handshake carries it (the server drops the one opened with the
   * old token).
   */
  replaceToken(token: string): void {
    this.current = token;
    this.socket.auth = { token };
  }

  get stopped(): boolean {
    return this.store.isStopped;
  }

  /**
   * The chat is open on a visible page, at its newest messages: what arrives in it is read at
   * once. Scrolled up, it is not: it counts as unread until the list shows it.
   */
  isViewing(chatId: string): boolean {
    return (
      this.openChatId === chatId &&
      document.visibilityState === 'visible' &&
      this.scrolledUpIn !== chatId
    );
  }

  endSession(): void {
    this.onSessionEnded(this.current);
  }

  /** A failure the person should hear about; a refused token ends the session instead. */
  fail(err: unknown): void {
    if (err instanceof ApiError && err.code === 'unauthorized') {
      this.endSession();
      return;
    }
    if (!(err instanceof ApiError)) console.error(err);
    this.store.notify(errorText(err));
  }
}
