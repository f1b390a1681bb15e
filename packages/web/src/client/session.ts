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
    readonly token: string,
    readonly store: Store,
    readonly socket: ParleySocket,
    private readonly onSessionEnded: () => void,
  ) {}

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
    this.onSessionEnded();
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
