// The chat list: fetched whole on every (re)connect and taken as the truth, except for chats
// that arrived or left by event while it was being fetched.
import type { Chat } from '@parley/protocol';
import { ApiError, api } from '../api.js';
import {
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
      // Every page, one after the other: the list, the unread total and links to any chat need
      // them all. Each page shows as it arrives; only the whole list may drop a chat.
      const pages: Chat[][] = [];
      let cursor: string | undefined;
      do {
        const page = await api.listChats(token, cursor);
        pages.push(page.chats);
        cursor = page.next_cursor ?? undefined;
        if (cursor) {
          const { removed } = changedSince();
          store.update((s) => ({ ...s, chats: mergeChatPage(s.chats, page.chats, removed) }));
        }
      } while (cursor && !this.session.stopped);
      const chats = joinPages(pages);
      const { added, removed } = changedSince();
      store.update((s) => {
        const list = mergeChatList(s.chats, chats, added, removed);
        const keep = new Set(list.map((c) => c.id));
        let next: State = { ...s, chats: list, chatsLoaded: true };
        for (const id of Object.keys(s.histories)) if (!keep.has(id)) next = removeChat(next, id);
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
