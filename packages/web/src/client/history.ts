// Each chat's held history: the latest page when a chat is first opened, older pages on demand,
// and catch-up of what was missed while away. The held part is always a contiguous run of seq.
import type { Message } from '@parley/protocol';
import { ApiError, api } from '../api.js';
import { emptyHistory, mergeMessages } from '../state.js';
import { errorText } from './errors.js';
import type { Session } from './session.js';

export const PAGE_SIZE = 50;
export const CATCH_UP_PAGE = 100;

export interface HistoryHooks {
  /** A message fetched by catch-up, applied like a live one. */
  caughtUp(message: Message): void;
  /** Held messages changed: the read mark may move. */
  settled(): void;
}

export class Histories {
  private readonly catchingUp = new Map<string, Promise<void>>();
  private readonly catchUpAgain = new Set<string>();

  constructor(
    private readonly session: Session,
    private readonly hooks: HistoryHooks,
  ) {}

  /** Loads the open chat's latest page the first time it is shown (or after a failure). */
  ensureLoaded(chatId: string): void {
    const history = this.session.store.getState().histories[chatId];
    if (!history || (!history.loaded && !history.loading)) void this.loadLatest(chatId);
  }

  async loadLatest(chatId: string): Promise<void> {
    const { store, token } = this.session;
    store.setHistory(chatId, (h) => ({ ...h, loading: true, error: null }));
    try {
      const page = await api.messages(token, chatId, { limit: PAGE_SIZE });
      store.setHistory(chatId, (h) => ({
        ...h,
        messages: mergeMessages(h.messages, page.messages),
        hasMore: page.has_more,
        loading: false,
        loaded: true,
      }));
      this.hooks.settled();
    } catch (err) {
      store.setHistory(chatId, (h) => ({ ...h, loading: false, error: errorText(err) }));
      if (err instanceof ApiError && err.code === 'unauthorized') this.session.endSession();
    }
  }

  async loadOlder(chatId: string): Promise<void> {
    const { store, token } = this.session;
    const history = store.getState().histories[chatId];
    const oldest = history?.messages[0];
    if (!history || !oldest || history.loading || !history.hasMore) return;
    store.setHistory(chatId, (h) => ({ ...h, loading: true, error: null }));
    try {
      const page = await api.messages(token, chatId, { before: oldest.id, limit: PAGE_SIZE });
      store.setHistory(chatId, (h) => ({
        ...h,
        messages: mergeMessages(h.messages, page.messages),
        hasMore: page.has_more,
        loading: false,
      }));
    } catch (err) {
      store.setHistory(chatId, (h) => ({ ...h, loading: false, error: errorText(err) }));
    }
  }

  /** Brings every loaded history up to date (after a reconnect). */
  async catchUpHeld(): Promise<void> {
    const held = Object.entries(this.session.store.getState().histories).filter(
      ([, h]) => h.loaded,
    );
    await Promise.all(held.map(([chatId]) => this.catchUp(chatId)));
  }

  /** Fetches everything after the newest held message, page by page, once at a time per chat. */
  catchUp(chatId: string): Promise<void> {
    const running = this.catchingUp.get(chatId);
    if (running) {
      this.catchUpAgain.add(chatId);
      return running;
    }
    const { store, token } = this.session;
    const run = (async () => {
      try {
        do {
          this.catchUpAgain.delete(chatId);
          let hasMore = true;
          while (hasMore) {
            const last = store.getState().histories[chatId]?.messages.at(-1);
            if (!last) {
              await this.loadLatest(chatId);
              break;
            }
            const page = await api.messages(token, chatId, {
              after: last.id,
              limit: CATCH_UP_PAGE,
            });
            for (const m of page.messages) this.hooks.caughtUp(m);
            hasMore = page.has_more && page.messages.length > 0;
          }
        } while (this.catchUpAgain.has(chatId));
      } catch (err) {
        if (err instanceof ApiError && (err.code === 'forbidden' || err.code === 'not_found')) {
          // Removed from the chat, or the cursor vanished: start over from the list.
          store.setHistory(chatId, () => emptyHistory());
        } else {
          this.session.fail(err);
        }
      } finally {
        this.catchingUp.delete(chatId);
      }
      this.hooks.settled();
    })();
    this.catchingUp.set(chatId, run);
    return run;
  }
}
