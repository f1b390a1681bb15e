// One signed-in session: the socket, the REST calls and the state they build. React subscribes
// to it with useSyncExternalStore; everything that talks to the server lives here.
import {
  Chat,
  ChatRemovedEvent,
  ErrorEvent,
  Message,
  MessageReadEvent,
  TypingStartEvent,
  TypingStopEvent,
  UserStatusEvent,
  type Ack,
  type Me,
  type ServerToClientEvents,
  type User,
} from '@parley/protocol';
import { ApiError, api, describeError } from './api.js';
import { createSocket, newClientMessageId, sendMessage, type ParleySocket } from './socket.js';
import {
  applyRead,
  applyStatus,
  emptyHistory,
  findChat,
  initialState,
  joinPages,
  leavesGap,
  mergeMessages,
  myReadSeq,
  receiveMessage,
  mergeChatList,
  mergeChatPage,
  removeChat,
  setTyping,
  upsertChat,
  chatTitle,
  type History,
  type Outgoing,
  type State,
} from './state.js';

const SEND_TIMEOUT_MS = 15_000;
/** The server expires a typist after ~5 s without a repeat; repeat well within that. */
const TYPING_REPEAT_MS = 3_000;
const TYPING_IDLE_MS = 3_000;
/** A typist whose `typing:stop` got lost disappears anyway. */
const TYPING_EXPIRY_MS = 7_000;
const PAGE_SIZE = 50;
const CATCH_UP_PAGE = 100;

type Timer = ReturnType<typeof setTimeout>;

/** Server payloads are parsed, not trusted: one schema per event. */
interface Schema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: unknown };
}

export class ChatClient {
  private state: State;
  private readonly listeners = new Set<() => void>();
  private readonly socket: ParleySocket;
  private openChatId: string | null = null;
  private everConnected = false;
  private stopped = false;
  private noticeSeq = 0;
  private readonly typingExpiry = new Map<string, Timer>();
  private readonly ownTyping = new Map<string, { lastSent: number; idle: Timer }>();
  private readonly catchingUp = new Map<string, Promise<void>>();
  private readonly catchUpAgain = new Set<string>();
  private reconnectTimer: Timer | undefined;
  private readonly attempts = new Map<string, number>();
  /** The latest chat:new / chat:removed per chat, numbered, so a list fetch can't undo them. */
  private readonly chatEvents = new Map<string, { seq: number; kind: 'added' | 'removed' }>();
  private chatEventSeq = 0;
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;

  constructor(
    private readonly token: string,
    me: Me,
    private readonly onSessionEnded: () => void,
  ) {
    this.state = initialState(me);
    this.socket = createSocket(token);
  }

  // ---- store ---------------------------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getState = (): State => this.state;

  private set(next: State): void {
    if (next === this.state || this.stopped) return;
    this.state = next;
    for (const listener of this.listeners) listener();
  }

  private update(change: (state: State) => State): void {
    this.set(change(this.state));
  }

  notify(text: string): void {
    this.update((s) => ({ ...s, notice: { id: ++this.noticeSeq, text } }));
  }

  dismissNotice(id: number): void {
    this.update((s) => (s.notice?.id === id ? { ...s, notice: null } : s));
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  start(): void {
    this.listen();
    this.socket.connect();
    // The chat header offers Block or Unblock: it needs to know whom I blocked.
    this.loadBlocked().catch((err: unknown) => this.fail(err));
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  stop(): void {
    this.stopped = true;
    document.removeEventListener('visibilitychange', this.onVisibility);
    clearTimeout(this.reconnectTimer);
    for (const t of this.typingExpiry.values()) clearTimeout(t);
    for (const t of this.ownTyping.values()) clearTimeout(t.idle);
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }

  private on<E extends keyof ServerToClientEvents>(
    event: E,
    schema: Schema<Parameters<ServerToClientEvents[E]>[0]>,
    handler: (payload: Parameters<ServerToClientEvents[E]>[0]) => void,
  ): void {
    const listener = (payload: unknown) => {
      const parsed = schema.safeParse(payload);
      if (parsed.success) handler(parsed.data);
      else console.error(`Ignored a malformed ${event} event`, parsed.error);
    };
    // socket.io's typings cannot follow a generic event name to its listener; the signature
    // above already ties the schema and the handler to the event.
    const on = this.socket.on.bind(this.socket) as (
      event: string,
      listener: (payload: unknown) => void,
    ) => unknown;
    on(event, listener);
  }

  private listen(): void {
    const socket = this.socket;
    socket.on('connect', () => {
      // Sends whose acknowledgement died with the old connection go again, under the same
      // clientMessageId: the server stores each once, whichever copy arrives first.
      if (this.everConnected) {
        for (const list of Object.values(this.state.outgoing)) {
          for (const o of list) if (o.status === 'sending') void this.deliver(o);
        }
      }
      this.everConnected = true;
      this.update((s) => ({ ...s, connection: 'online' }));
      // Every (re)connect starts from the server's truth: the chat list, then what each open
      // history missed. The first connect does the same, so nothing slips in before it.
      void this.resync();
    });
    socket.on('disconnect', (reason) => {
      this.update((s) => ({ ...s, connection: 'offline', typing: {} }));
      // A server-side disconnect is not retried by socket.io; a restarting server is.
      if (reason === 'io server disconnect') this.scheduleReconnect();
    });
    socket.on('connect_error', (err) => {
      this.update((s) => ({ ...s, connection: 'offline' }));
      // A refused handshake (bad token) is not retried by socket.io: find out why, then act.
      if (!socket.active) void this.checkSessionThenReconnect(err.message);
    });

    this.on('message:new', Message, (m) => this.onMessage(m));
    this.on('message:read', MessageReadEvent, (e) => this.update((s) => applyRead(s, e)));
    this.on('user:status', UserStatusEvent, (e) => this.update((s) => applyStatus(s, e)));
    this.on('typing:start', TypingStartEvent, (e) => this.onTyping(e, true));
    this.on('typing:stop', TypingStopEvent, (e) => this.onTyping({ ...e, username: '' }, false));
    this.on('chat:new', Chat, (chat) => {
      this.chatEvents.set(chat.id, { seq: ++this.chatEventSeq, kind: 'added' });
      this.onChat(chat);
    });
    this.on('chat:updated', Chat, (chat) => this.onChat(chat));
    this.on('chat:removed', ChatRemovedEvent, ({ chatId }) => {
      const chat = findChat(this.state, chatId);
      this.chatEvents.set(chatId, { seq: ++this.chatEventSeq, kind: 'removed' });
      this.update((s) => removeChat(s, chatId));
      if (chat) this.notify(`You are no longer in “${chatTitle(chat, this.state.me.id)}”.`);
    });
    this.on('error', ErrorEvent, (e) => this.notify(describeError(e.code, e.message)));
  }

  private scheduleReconnect(delayMs = 1_000): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      if (!this.stopped && !this.socket.connected) this.socket.connect();
    }, delayMs);
  }

  private async checkSessionThenReconnect(reason: string): Promise<void> {
    try {
      await api.me(this.token);
      console.warn('Socket refused:', reason);
      this.scheduleReconnect(3_000);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'unauthorized') this.onSessionEnded();
      else this.scheduleReconnect(3_000);
    }
  }

  /** One resync at a time; a request during one runs once more after it. */
  private resync(): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      do {
        this.resyncAgain = false;
        await this.resyncOnce();
      } while (this.resyncAgain && !this.stopped);
      this.resyncing = null;
    })();
    return this.resyncing;
  }

  private async resyncOnce(): Promise<void> {
    const since = this.chatEventSeq;
    const changedSince = () => {
      const added = new Set<string>();
      const removed = new Set<string>();
      for (const [id, e] of this.chatEvents) {
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
        const page = await api.listChats(this.token, cursor);
        pages.push(page.chats);
        cursor = page.next_cursor ?? undefined;
        if (cursor) {
          const { removed } = changedSince();
          this.update((s) => ({ ...s, chats: mergeChatPage(s.chats, page.chats, removed) }));
        }
      } while (cursor && !this.stopped);
      const chats = joinPages(pages);
      const { added, removed } = changedSince();
      this.update((s) => {
        const list = mergeChatList(s.chats, chats, added, removed);
        const keep = new Set(list.map((c) => c.id));
        let next: State = { ...s, chats: list, chatsLoaded: true };
        for (const id of Object.keys(s.histories)) if (!keep.has(id)) next = removeChat(next, id);
        return next;
      });
    } catch (err) {
      this.fail(err);
      // A server that is only half back: try again while the socket is up.
      if (!(err instanceof ApiError && err.code === 'unauthorized')) {
        setTimeout(() => {
          if (this.socket.connected && !this.stopped) void this.resync();
        }, 3_000);
      }
      return;
    }
    const loaded = Object.entries(this.state.histories).filter(([, h]) => h.loaded);
    await Promise.all(loaded.map(([chatId]) => this.catchUp(chatId)));
    const open = this.openChatId ? this.state.histories[this.openChatId] : undefined;
    if (this.openChatId && (!open || (!open.loaded && !open.loading))) {
      void this.loadLatest(this.openChatId);
    }
    this.markRead();
  }

  private fail(err: unknown): void {
    if (err instanceof ApiError) {
      if (err.code === 'unauthorized') {
        this.onSessionEnded();
        return;
      }
      this.notify(describeError(err.code, err.message));
    } else {
      console.error(err);
      this.notify('Something went wrong.');
    }
  }

  // ---- incoming --------------------------------------------------------------------------------

  private isViewing(chatId: string): boolean {
    return this.openChatId === chatId && document.visibilityState === 'visible';
  }

  private onMessage(message: Message): void {
    if (!findChat(this.state, message.chat_id)) {
      // A chat we have not heard of yet (its chat:new is late or was lost): ask for the list.
      void this.resync();
      return;
    }
    // Keep the held history contiguous: after a gap, fetch everything after it, this included.
    const gap = leavesGap(this.state.histories[message.chat_id], message);
    const viewing = this.isViewing(message.chat_id);
    this.update((s) => receiveMessage(s, message, viewing, !gap));
    if (gap) void this.catchUp(message.chat_id);
    const timer = this.typingExpiry.get(`${message.chat_id}:${message.sender_id}`);
    if (timer) clearTimeout(timer);
    this.markRead();
  }

  private onTyping(event: TypingStartEvent, active: boolean): void {
    if (event.userId === this.state.me.id) return;
    const key = `${event.chatId}:${event.userId}`;
    clearTimeout(this.typingExpiry.get(key));
    const typist = { userId: event.userId, username: event.username };
    this.update((s) => setTyping(s, event.chatId, typist, active));
    if (active) {
      this.typingExpiry.set(
        key,
        setTimeout(
          () => this.update((s) => setTyping(s, event.chatId, typist, false)),
          TYPING_EXPIRY_MS,
        ),
      );
    }
  }

  private onChat(chat: Chat): void {
    this.update((s) => ({ ...s, chats: upsertChat(s.chats, chat) }));
    this.markRead();
  }

  private onVisibility = (): void => this.markRead();

  // ---- histories -------------------------------------------------------------------------------

  private setHistory(chatId: string, change: (h: History) => History): void {
    this.update((s) => ({
      ...s,
      histories: { ...s.histories, [chatId]: change(s.histories[chatId] ?? emptyHistory()) },
    }));
  }

  /** The chat shown on screen; null for none. Loads its history the first time. */
  setOpenChat(chatId: string | null): void {
    this.openChatId = chatId;
    const history = chatId ? this.state.histories[chatId] : undefined;
    if (chatId && (!history || (!history.loaded && !history.loading))) void this.loadLatest(chatId);
    this.markRead();
  }

  private async loadLatest(chatId: string): Promise<void> {
    this.setHistory(chatId, (h) => ({ ...h, loading: true, error: null }));
    try {
      const page = await api.messages(this.token, chatId, { limit: PAGE_SIZE });
      this.setHistory(chatId, (h) => ({
        ...h,
        messages: mergeMessages(h.messages, page.messages),
        hasMore: page.has_more,
        loading: false,
        loaded: true,
      }));
      this.markRead();
    } catch (err) {
      this.setHistory(chatId, (h) => ({ ...h, loading: false, error: errorText(err) }));
      if (err instanceof ApiError && err.code === 'unauthorized') this.onSessionEnded();
    }
  }

  async loadOlder(chatId: string): Promise<void> {
    const history = this.state.histories[chatId];
    const oldest = history?.messages[0];
    if (!history || !oldest || history.loading || !history.hasMore) return;
    this.setHistory(chatId, (h) => ({ ...h, loading: true, error: null }));
    try {
      const page = await api.messages(this.token, chatId, { before: oldest.id, limit: PAGE_SIZE });
      this.setHistory(chatId, (h) => ({
        ...h,
        messages: mergeMessages(h.messages, page.messages),
        hasMore: page.has_more,
        loading: false,
      }));
    } catch (err) {
      this.setHistory(chatId, (h) => ({ ...h, loading: false, error: errorText(err) }));
    }
  }

  /** Fetches everything after the newest held message, page by page, once at a time per chat. */
  private catchUp(chatId: string): Promise<void> {
    const running = this.catchingUp.get(chatId);
    if (running) {
      this.catchUpAgain.add(chatId);
      return running;
    }
    const run = (async () => {
      try {
        do {
          this.catchUpAgain.delete(chatId);
          let hasMore = true;
          while (hasMore) {
            const last = this.state.histories[chatId]?.messages.at(-1);
            if (!last) {
              await this.loadLatest(chatId);
              break;
            }
            const page = await api.messages(this.token, chatId, {
              after: last.id,
              limit: CATCH_UP_PAGE,
            });
            for (const m of page.messages) {
              this.update((s) => receiveMessage(s, m, this.isViewing(chatId)));
            }
            hasMore = page.has_more && page.messages.length > 0;
          }
        } while (this.catchUpAgain.has(chatId));
      } catch (err) {
        if (err instanceof ApiError && (err.code === 'forbidden' || err.code === 'not_found')) {
          // Removed from the chat, or the cursor vanished: start over from the list.
          this.setHistory(chatId, () => emptyHistory());
        } else {
          this.fail(err);
        }
      } finally {
        this.catchingUp.delete(chatId);
      }
      this.markRead();
    })();
    this.catchingUp.set(chatId, run);
    return run;
  }

  /** Tells the server the open chat's newest message was read, when it is on screen. */
  markRead(): void {
    const chatId = this.openChatId;
    if (!chatId || document.visibilityState !== 'visible') return;
    const chat = findChat(this.state, chatId);
    const newest = chat?.last_message;
    if (!chat || !newest || !this.state.histories[chatId]?.loaded) return;
    const me = this.state.me.id;
    if (myReadSeq(chat, me) >= newest.seq && chat.unread_count === 0) return;
    this.socket.emit('message:read', { chatId, messageId: newest.id }, (ack) => {
      if (!ack.ok) console.warn('message:read refused', ack.error);
    });
    this.update((s) =>
      applyRead(
        {
          ...s,
          chats: s.chats.map((c) => (c.id === chatId ? { ...c, unread_count: 0 } : c)),
        },
        { chatId, userId: me, messageId: newest.id, seq: newest.seq },
      ),
    );
  }

  // ---- outgoing --------------------------------------------------------------------------------

  send(chatId: string, content: string): void {
    const outgoing: Outgoing = {
      clientMessageId: newClientMessageId(),
      chatId,
      content,
      createdAt: new Date().toISOString(),
      status: 'sending',
      error: null,
    };
    this.update((s) => ({
      ...s,
      outgoing: { ...s.outgoing, [chatId]: [...(s.outgoing[chatId] ?? []), outgoing] },
    }));
    this.stopTyping(chatId);
    void this.deliver(outgoing);
  }

  /** Sends a failed message again with the same clientMessageId: the server stores it once. */
  retry(chatId: string, clientMessageId: string): void {
    const outgoing = this.state.outgoing[chatId]?.find(
      (o) => o.clientMessageId === clientMessageId,
    );
    if (!outgoing || outgoing.status === 'sending') return;
    this.setOutgoing(chatId, clientMessageId, { status: 'sending', error: null });
    void this.deliver(outgoing);
  }

  private setOutgoing(chatId: string, clientMessageId: string, change: Partial<Outgoing>): void {
    this.update((s) => ({
      ...s,
      outgoing: {
        ...s.outgoing,
        [chatId]: (s.outgoing[chatId] ?? []).map((o) =>
          o.clientMessageId === clientMessageId ? { ...o, ...change } : o,
        ),
      },
    }));
  }

  private async deliver(outgoing: Outgoing): Promise<void> {
    // Only the latest attempt's outcome counts: an older one timing out must not mark failed
    // a message that a newer attempt is still delivering.
    const attempt = (this.attempts.get(outgoing.clientMessageId) ?? 0) + 1;
    this.attempts.set(outgoing.clientMessageId, attempt);
    const result = await sendMessage(
      this.socket,
      {
        chatId: outgoing.chatId,
        content: outgoing.content,
        clientMessageId: outgoing.clientMessageId,
      },
      SEND_TIMEOUT_MS,
    );
    const latest = this.attempts.get(outgoing.clientMessageId) === attempt;
    if (result.ok) {
      this.attempts.delete(outgoing.clientMessageId);
      this.onMessage(result.message);
    } else if (latest) {
      this.attempts.delete(outgoing.clientMessageId);
      const error =
        'timedOut' in result
          ? describeError('timeout')
          : describeError(result.error.code, result.error.message);
      this.setOutgoing(outgoing.chatId, outgoing.clientMessageId, { status: 'failed', error });
    }
  }

  /** Call on every edit of the draft; announces typing, at most once per few seconds. */
  typing(chatId: string): void {
    const now = Date.now();
    const current = this.ownTyping.get(chatId);
    if (current) clearTimeout(current.idle);
    const idle = setTimeout(() => this.stopTyping(chatId), TYPING_IDLE_MS);
    if (!current || now - current.lastSent >= TYPING_REPEAT_MS) {
      this.socket.emit('typing:start', { chatId }, ignoreRefusal);
      this.ownTyping.set(chatId, { lastSent: now, idle });
    } else {
      this.ownTyping.set(chatId, { ...current, idle });
    }
  }

  stopTyping(chatId: string): void {
    const current = this.ownTyping.get(chatId);
    if (!current) return;
    clearTimeout(current.idle);
    this.ownTyping.delete(chatId);
    this.socket.emit('typing:stop', { chatId }, ignoreRefusal);
  }

  // ---- chats -----------------------------------------------------------------------------------

  async searchUsers(q: string): Promise<User[]> {
    const { users } = await api.searchUsers(this.token, q);
    return users;
  }

  async openDirect(userId: string): Promise<Chat> {
    return this.adopt(await api.createChat(this.token, { type: 'direct', userId }));
  }

  async createGroup(name: string, participantIds: string[]): Promise<Chat> {
    return this.adopt(await api.createChat(this.token, { type: 'group', name, participantIds }));
  }

  async addParticipant(chatId: string, userId: string): Promise<Chat> {
    return this.adopt(await api.addParticipant(this.token, chatId, userId));
  }

  // ---- blocking ----------------------------------------------------------------------------

  /** The list of users I blocked, fetched again (the dialog that shows it calls this). */
  async loadBlocked(): Promise<void> {
    const { users } = await api.blockedUsers(this.token);
    this.update((s) => ({ ...s, blocked: users }));
  }

  async block(user: User): Promise<void> {
    await api.block(this.token, user.id);
    this.update((s) => ({
      ...s,
      blocked: [user, ...(s.blocked ?? []).filter((u) => u.id !== user.id)],
    }));
  }

  async unblock(userId: string): Promise<void> {
    await api.unblock(this.token, userId);
    this.update((s) => ({ ...s, blocked: (s.blocked ?? []).filter((u) => u.id !== userId) }));
  }

  private adopt(chat: Chat): Chat {
    this.chatEvents.set(chat.id, { seq: ++this.chatEventSeq, kind: 'added' });
    this.update((s) => ({ ...s, chats: upsertChat(s.chats, chat), chatsLoaded: true }));
    return chat;
  }
}

/** Typing notices are best effort: a refusal (say, just removed from the chat) is not news. */
const ignoreRefusal = (ack: Ack): void => {
  if (!ack.ok) console.debug('typing notice refused', ack.error);
};

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return describeError(err.code, err.message);
  return 'Something went wrong.';
}
