// Each chat's held history: the latest page when a chat is first opened, older pages on demand
// (or until a message asked for is held), and catch-up of every change missed while away by
// `changes?since`. The held part is always a contiguous run of seq.
import type { Message } from '@parley/protocol';
import { ApiError, api } from '../api.js';
import { emptyHistory, findChat, mergeMessages } from '../state.js';
import { errorText } from './errors.js';
import type { Session } from './session.js';

export const PAGE_SIZE = 50;
/** Paging back to a message asked for: the server's largest page. */
export const REVEAL_PAGE = 100;
export const CHANGES_PAGE = 200;
/**
 * A history this many versions behind is dropped and its latest page loaded instead: fetching
 * every change of a long absence costs more than the page the screen shows.
 */
export const CATCH_UP_MAX = 1_000;

export interface HistoryHooks {
  /** Every change after the history's version, all pages of it, to apply at once. */
  changes(chatId: string, messages: Message[], version: number): void;
  /** Held messages changed: the read mark may move. */
  settled(): void;
}

export class Histories {
  private readonly catchingUp = new Map<string, Promise<void>>();
  private readonly catchUpAgain = new Set<string>();
  /** The page request in flight per chat, so a caller can wait for it. */
  private readonly loads = new Map<string, Promise<void>>();

  constructor(
    private readonly session: Session,
    private readonly hooks: HistoryHooks,
  ) {}

  /** Loads the open chat's latest page the first time it is shown (or after a failure). */
  ensureLoaded(chatId: string): void {
    const history = this.session.store.getState().histories[chatId];
    if (!history || (!history.loaded && !history.loading)) void this.loadLatest(chatId);
  }

  loadLatest(chatId: string): Promise<void> {
    return this.track(chatId, this.fetchLatest(chatId));
  }

  loadOlder(chatId: string, limit = PAGE_SIZE): Promise<void> {
    const history = this.session.store.getState().histories[chatId];
    const oldest = history?.messages[0];
    if (!history || !oldest || history.loading || !history.hasMore) return Promise.resolve();
    return this.track(chatId, this.fetchOlder(chatId, oldest.id, limit));
  }

  private track(chatId: string, load: Promise<void>): Promise<void> {
    this.loads.set(chatId, load);
    void load.finally(() => {
      if (this.loads.get(chatId) === load) this.loads.delete(chatId);
    });
    return load;
  }

  private async fetchLatest(chatId: string): Promise<void> {
    const { store, token } = this.session;
    // Every change up to the version known now is in the page fetched after it.
    const known = findChat(store.getState(), chatId)?.version ?? 0;
    store.setHistory(chatId, (h) => ({ ...h, loading: true, error: null }));
    try {
      const page = await api.messages(token, chatId, { limit: PAGE_SIZE });
      const newest = Math.max(known, ...page.messages.map((m) => m.version));
      store.setHistory(chatId, (h) => ({
        ...h,
        messages: mergeMessages(h.messages, page.messages),
        hasMore: page.has_more,
        loading: false,
        loaded: true,
        version: Math.max(h.version, newest),
      }));
      this.hooks.settled();
    } catch (err) {
      store.setHistory(chatId, (h) => ({ ...h, loading: false, error: errorText(err) }));
      if (err instanceof ApiError && err.code === 'unauthorized') this.session.endSession();
    }
  }

  private async fetchOlder(chatId: string, before: string, limit: number): Promise<void> {
    const { store, token } = this.session;
    store.setHistory(chatId, (h) => ({ ...h, loading: true, error: null }));
    try {
      const page = await api.messages(token, chatId, { before, limit });
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

  /**
   * Loads the latest page if need be, then older pages until the message is held. False when
   * the chat's history has no such message (or could not be loaded: its error says why).
   */
  async reveal(chatId: string, messageId: string): Promise<boolean> {
    const { store } = this.session;
    const held = () =>
      store.getState().histories[chatId]?.messages.some((m) => m.id === messageId) ?? false;
    for (;;) {
      const running = this.loads.get(chatId);
      if (running) {
        await running;
        continue;
      }
      if (held()) return true;
      const history = store.getState().histories[chatId];
      if (!history?.loaded) {
        await this.loadLatest(chatId);
        if (!store.getState().histories[chatId]?.loaded) return false;
        continue;
      }
      if (!history.hasMore || this.session.stopped) return false;
      const before = history.messages.length;
      await this.loadOlder(chatId, REVEAL_PAGE);
      const after = store.getState().histories[chatId];
      if (after?.error || (after?.messages.length ?? 0) <= before) return held();
    }
  }

  /** Brings every loaded history up to date (after a reconnect). */
  async catchUpHeld(): Promise<void> {
    const held = Object.entries(this.session.store.getState().histories).filter(
      ([, h]) => h.loaded,
    );
    await Promise.all(held.map(([chatId]) => this.catchUp(chatId)));
  }

  /** Fetches every change after the history's version, once at a time per chat. */
  catchUp(chatId: string): Promise<void> {
    const running = this.catchingUp.get(chatId);
    if (running) {
      this.catchUpAgain.add(chatId);
      return running;
    }
    const run = (async () => {
      try {
        do {
          this.catchUpAgain.delete(chatId);
          await this.catchUpOnce(chatId);
        } while (this.catchUpAgain.has(chatId) && !this.session.stopped);
      } catch (err) {
        if (err instanceof ApiError && (err.code === 'forbidden' || err.code === 'not_found')) {
          // Removed from the chat: start over from the list.
          this.session.store.setHistory(chatId, () => emptyHistory());
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

  private async catchUpOnce(chatId: string): Promise<void> {
    const { store, token } = this.session;
    const state = store.getState();
    const history = state.histories[chatId];
    if (!history?.loaded) return;
    // The chat's version as last listed or heard: nothing newer than the history, nothing to ask.
    const known = findChat(state, chatId)?.version ?? 0;
    if (known <= history.version) return;
    if (known - history.version > CATCH_UP_MAX) {
      store.setHistory(chatId, () => emptyHistory());
      await this.loadLatest(chatId);
      return;
    }
    // Every page before applying any: a page is in version order, so a new message may come on
    // a later page than one after it, and the held history must stay contiguous.
    const messages: Message[] = [];
    let since = history.version;
    for (;;) {
      const page = await api.changes(token, chatId, since, CHANGES_PAGE);
      messages.push(...page.messages);
      const progressed = page.version > since;
      since = Math.max(since, page.version);
      if (!page.has_more || !progressed || this.session.stopped) break;
    }
    this.hooks.changes(chatId, messages, since);
  }
}
