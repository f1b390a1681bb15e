// The chat list, by the server's pages: the first page on every (re)connect (as many pages as
// were loaded before), older pages on demand. What was fetched is the truth down to the oldest
// chat it holds, except for chats that arrived or left by event while it was being fetched.
import type { Chat } from '@parley/protocol';
import { ApiError, api } from '../api.js';
import {
  activityTime,
  joinPages,
  mergeChatList,
  mergeChatPage,
  removeChat,
  upsertChat,
  type State,
} from '../state.js';
import type { Session } from './session.js';

export const RESYNC_RETRY_MS = 3_000;

export interface ChatListHooks {
  /** The whole list is in: bring held histories up to date. */
  listed(): Promise<void>;
}

export class ChatList {
  /** The latest chat:new / chat:removed per chat, numbered, so a list fetch can't undo them. */
  private readonly events = new Map<string, { seq: number; kind: 'added' | 'removed' }>();
  private eventSeq = 0;
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;
  /** Where the next older page starts; null once the list is whole. */
  private cursor: string | null = null;
  private loadingOlder: Promise<void> | null = null;
  /** Chats being fetched one by one (a link to one not loaded, a message in one). */
  private readonly fetching = new Map<string, Promise<Chat | null>>();

  constructor(
    private readonly session: Session,
    private readonly hooks: ChatListHooks,
  ) {}

  /** A chat arrived (chat:new): a list fetched before must not drop it. */
  added(chat: Chat): void {
    this.events.set(chat.id, { seq: ++this.eventSeq, kind: 'added' });
    this.session.store.update((s) => ({ ...s, chats: upsertChat(s.chats, chat) }));
  }

  /** A chat I created or joined by my own call: as `added`, and the list shows at once. */
  adopt(chat: Chat): Chat {
    this.added(chat);
    this.session.store.update((s) => (s.chatsLoaded ? s : { ...s, chatsLoaded: true }));
    return chat;
  }

  /** I left or was removed: a list fetched before must not bring it back. */
  removed(chatId: string): void {
    this.events.set(chatId, { seq: ++this.eventSeq, kind: 'removed' });
    this.session.store.update((s) => removeChat(s, chatId));
  }

  /** The list holds every chat of the person (no older page is left on the server). */
  get whole(): boolean {
    return this.session.store.getState().chatsLoaded && this.cursor === null;
  }

  /** The next older page, once; a call while one is loading waits for it. */
  loadOlder(): Promise<void> {
    if (this.loadingOlder) return this.loadingOlder;
    const cursor = this.cursor;
    if (!cursor || this.resyncing) return this.resyncing ?? Promise.resolve();
    const { store, token } = this.session;
    const since = this.eventSeq;
    store.update((s) => ({ ...s, olderChats: 'loading' }));
    this.loadingOlder = (async () => {
      try {
        const page = await api.listChats(token, cursor);
        // A resync meanwhile started the pages over: this one is stale.
        if (this.cursor !== cursor) return;
        this.cursor = page.next_cursor;
        const removed = new Set(
          [...this.events]
            .filter(([, e]) => e.seq > since && e.kind === 'removed')
            .map(([id]) => id),
        );
        store.update((s) => ({
          ...s,
          chats: mergeChatPage(s.chats, page.chats, removed),
          olderChats: page.next_cursor ? 'more' : 'none',
        }));
      } catch (err) {
        store.update((s) => ({ ...s, olderChats: this.cursor ? 'more' : 'none' }));
        this.session.fail(err);
        throw err;
      } finally {
        this.loadingOlder = null;
      }
    })();
    return this.loadingOlder;
  }

  /** Every older page, one after another (a filter must see every chat). */
  async loadAll(): Promise<void> {
    while (this.cursor && !this.session.stopped) await this.loadOlder();
  }

  /**
   * A chat that is not in the pages loaded (a link to it, a message in it, a chat:new that was
   * lost): fetched alone and added. Null when it is not one of mine.
   */
  fetchChat(chatId: string): Promise<Chat | null> {
    const held = this.session.store.getState().chats.find((c) => c.id === chatId);
    if (held) return Promise.resolve(held);
    let pending = this.fetching.get(chatId);
    if (!pending) {
      const since = this.eventSeq;
      pending = api.getChat(this.session.token, chatId).then(
        (chat) => {
          // Left or removed while on its way: it stays out.
          const e = this.events.get(chatId);
          if (e && e.seq > since && e.kind === 'removed') return null;
          this.added(chat);
          return chat;
        },
        (err: unknown) => {
          if (!(err instanceof ApiError) || err.status >= 500) this.session.fail(err);
          return null;
        },
      );
      pending = pending.finally(() => this.fetching.delete(chatId));
      this.fetching.set(chatId, pending);
    }
    return pending;
  }

  /** One resync at a time; a request during one runs once more after it. */
  resync(): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      do {
        this.resyncAgain = false;
        await this.resyncOnce();
      } while (this.resyncAgain && !this.session.stopped);
      this.resyncing = null;
    })();
    return this.resyncing;
  }

  private async resyncOnce(): Promise<void> {
    const { store, token } = this.session;
    const since = this.eventSeq;
    const changedSince = () => {
      const added = new Set<string>();
      const removed = new Set<string>();
      for (const [id, e] of this.events) {
        if (e.seq > since) (e.kind === 'added' ? added : removed).add(id);
      }
      return { added, removed };
    };
    try {
      // The first page, and as many more as the list held before, so that a reconnect does not
      // shrink what the person scrolled to. Each page shows as it arrives.
      const held = store.getState().chats.length;
      const pages: Chat[][] = [];
      let fetched = 0;
      let cursor: string | null = null;
      do {
        const page = await api.listChats(token, cursor ?? undefined);
        pages.push(page.chats);
        fetched += page.chats.length;
        cursor = page.next_cursor;
        if (cursor && fetched < held) {
          const { removed } = changedSince();
          store.update((s) => ({ ...s, chats: mergeChatPage(s.chats, page.chats, removed) }));
        }
      } while (cursor && fetched < held && !this.session.stopped);
      const chats = joinPages(pages);
      const { added, removed } = changedSince();
      this.cursor = cursor;
      // Activity only moves forward: a chat held with activity at or after the oldest fetched
      // one would have been in these pages, unless it is gone. Older ones lie beyond them: kept.
      const oldest = chats.at(-1);
      const boundary = cursor && oldest ? Date.parse(activityTime(oldest)) : null;
      store.update((s) => {
        const beyond = new Set(
          boundary === null
            ? []
            : s.chats.filter((c) => Date.parse(activityTime(c)) < boundary).map((c) => c.id),
        );
        const keep = new Set([...added, ...beyond]);
        const list = mergeChatList(s.chats, chats, keep, removed);
        const listed = new Set(list.map((c) => c.id));
        let next: State = {
          ...s,
          chats: list,
          chatsLoaded: true,
          olderChats: cursor ? 'more' : 'none',
        };
        for (const id of Object.keys(s.histories)) if (!listed.has(id)) next = removeChat(next, id);
        return next;
      });
    } catch (err) {
      this.session.fail(err);
      // A server that is only half back: try again while the socket is up.
      if (!(err instanceof ApiError && err.code === 'unauthorized')) {
        setTimeout(() => {
          if (this.session.socket.connected && !this.session.stopped) void this.resync();
        }, RESYNC_RETRY_MS);
      }
      return;
    }
    await this.hooks.listed();
  }
}
