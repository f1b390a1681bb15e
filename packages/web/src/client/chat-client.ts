// The façade: wires the session's modules together and offers the components one object.
import type { Chat, Me, Message, User } from '@parley/protocol';
import { api } from '../api.js';
import { Notifier, notificationPermission } from '../notifications.js';
import { createSocket, type ParleySocket } from '../socket.js';
import type { State } from '../state.js';
import { Actions, type MessageEditRecord } from './actions.js';
import { Calls } from './calls.js';
import { ChatList } from './chat-list.js';
import { Connection } from './connection.js';
import { Histories } from './history.js';
import { Outbox } from './outbox.js';
import { ReadMarks } from './read-marks.js';
import { Session } from './session.js';
import { Store } from './store.js';
import { Sync } from './sync.js';
import { Typing } from './typing.js';
import { Uploads } from './uploads.js';

export interface ChatClientOptions {
  /** A socket to use instead of a new one to this origin (tests). */
  socket?: ParleySocket;
}

export class ChatClient {
  private readonly store: Store;
  private readonly session: Session;
  private readonly connection: Connection;
  private readonly chatList: ChatList;
  private readonly histories: Histories;
  private readonly outbox: Outbox;
  private readonly readMarks: ReadMarks;
  private readonly typingIndicators: Typing;
  private readonly sync: Sync;
  private readonly actions: Actions;
  private readonly notifier = new Notifier();
  /** Files chosen for the next message of each chat, uploading (the composer shows them). */
  readonly uploads: Uploads;
  private focusSeq = 0;
  /** This tab's call (ringing, being rung, talking): its own store, read by the call view. */
  readonly calls: Calls;
  private stopCalls: () => void = () => {};

  constructor(
    token: string,
    me: Me,
    onSessionEnded: (token: string) => void,
    options: ChatClientOptions = {},
  ) {
    this.store = new Store(me, notificationPermission());
    const session = new Session(
      token,
      this.store,
      options.socket ?? createSocket(token),
      onSessionEnded,
    );
    this.session = session;
    this.readMarks = new ReadMarks(session);
    this.typingIndicators = new Typing(session);
    this.histories = new Histories(session, {
      changes: (chatId, messages, version) => this.sync.changes(chatId, messages, version),
      settled: () => this.readMarks.markRead(),
    });
    this.chatList = new ChatList(session, { listed: () => this.afterListed() });
    this.outbox = new Outbox(session, {
      stored: (m) => this.sync.message(m),
      sending: (chatId) => this.typingIndicators.stopTyping(chatId),
    });
    this.connection = new Connection(session, {
      connected: (again) => {
        if (again) this.outbox.redeliver();
        // Every (re)connect starts from the server's truth: the chat list, then what each held
        // history missed. The first connect does the same, so nothing slips in before it.
        void this.chatList.resync();
      },
      disconnected: () => {},
    });
    this.sync = new Sync(session, {
      connection: this.connection,
      chatList: this.chatList,
      histories: this.histories,
      readMarks: this.readMarks,
      typing: this.typingIndicators,
      arrived: (message, state) =>
        this.notifier.arrived(state, message, {
          openChatId: session.openChatId,
          hidden: document.visibilityState === 'hidden',
        }),
    });
    this.calls = new Calls(
      session.socket,
      () => session.token,
      (text) => this.store.notify(text),
    );
    this.uploads = new Uploads(session, { stored: (m) => this.sync.message(m) });
    this.actions = new Actions(session, {
      edited: (m) => this.sync.updated(m),
      chatChanged: (chat) => this.sync.chat(chat),
      left: (chatId) => this.chatList.removed(chatId),
    });
  }

  // ---- store ---------------------------------------------------------------------------------

  subscribe = (listener: () => void): (() => void) => this.store.subscribe(listener);

  getState = (): State => this.store.getState();

  notify(text: string): void {
    this.store.notify(text);
  }

  dismissNotice(id: number): void {
    this.store.dismissNotice(id);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  start(): void {
    // The permission may have changed in the browser's settings since the page loaded.
    const permission = notificationPermission();
    this.store.update((s) =>
      s.notifications === permission ? s : { ...s, notifications: permission },
    );
    this.sync.listen();
    this.stopCalls = this.calls.listen();
    this.connection.start();
    this.readMarks.start();
    // The chat header offers Block or Unblock: it needs to know whom I blocked.
    this.loadBlocked().catch((err: unknown) => this.session.fail(err));
    // The composer states MAX_UPLOAD_BYTES before a file is chosen.
    void this.uploads.loadLimits();
  }

  stop(): void {
    this.stopCalls();
    this.store.stop();
    this.readMarks.stop();
    this.typingIndicators.stop();
    this.connection.stop();
  }

  /**
   * The account changed under a running session: a new display name shows at once, and a new
   * token (a password change ends the old one) is used from now on, without starting over.
   */
  updateAccount(token: string, me: Me): void {
    if (token !== this.session.token) {
      this.session.replaceToken(token);
      this.connection.tokenReplaced();
    }
    this.store.update((s) => (s.me === me ? s : { ...s, me }));
  }

  private async afterListed(): Promise<void> {
    await this.histories.catchUpHeld();
    const open = this.session.openChatId;
    if (open) this.histories.ensureLoaded(open);
    this.readMarks.markRead();
  }

  // ---- histories -------------------------------------------------------------------------------

  /** The chat shown on screen; null for none. Loads its history the first time. */
  setOpenChat(chatId: string | null): void {
    this.session.openChatId = chatId;
    if (chatId) this.histories.ensureLoaded(chatId);
    this.readMarks.markRead();
  }

  loadOlder(chatId: string): Promise<void> {
    return this.histories.loadOlder(chatId);
  }

  /** Tells the server the open chat's newest message was read, when it is on screen. */
  markRead(): void {
    this.readMarks.markRead();
  }

  /**
   * Loads history (the latest page, then older ones) until the message is held, then sets
   * `state.focus` for the list to scroll there. A message the chat no longer has: a notice.
   */
  async showMessage(chatId: string, messageId: string): Promise<void> {
    const found = await this.histories.reveal(chatId, messageId);
    if (found) {
      const nonce = ++this.focusSeq;
      this.store.update((s) => ({ ...s, focus: { chatId, messageId, nonce } }));
    } else if (!this.store.getState().histories[chatId]?.error) {
      this.store.notify('That message is no longer in this chat.');
    }
  }

  clearFocus(): void {
    this.store.update((s) => (s.focus ? { ...s, focus: null } : s));
  }

  // ---- outgoing --------------------------------------------------------------------------------

  send(chatId: string, content: string, options?: { replyToId?: string }): void {
    this.outbox.send(chatId, content, options);
  }

  /** Sends a failed message again with the same clientMessageId: the server stores it once. */
  retry(chatId: string, clientMessageId: string): void {
    this.outbox.retry(chatId, clientMessageId);
  }

  /** Call on every edit of the draft; announces typing, at most once per few seconds. */
  typing(chatId: string): void {
    this.typingIndicators.typing(chatId);
  }

  stopTyping(chatId: string): void {
    this.typingIndicators.stopTyping(chatId);
  }

  /**
   * An attachment's bytes with this session's token (the one of now: a password change replaces
   * it), for a signed URL that ran out while the tab stayed open.
   */
  fetchAttachment(url: string): Promise<Blob> {
    return api.attachment(this.session.token, url);
  }

  // ---- message changes (each rejects with an Error whose message is in words) -----------------

  edit(chatId: string, messageId: string, content: string): Promise<void> {
    return this.actions.edit(chatId, messageId, content);
  }

  deleteMessage(chatId: string, messageId: string): Promise<void> {
    return this.actions.deleteMessage(chatId, messageId);
  }

  react(chatId: string, messageId: string, emoji: string, op: 'add' | 'remove'): Promise<void> {
    return this.actions.react(chatId, messageId, emoji, op);
  }

  /** The message's earlier versions, oldest first, each with the time it was replaced. */
  loadEdits(chatId: string, messageId: string): Promise<MessageEditRecord[]> {
    return this.actions.loadEdits(chatId, messageId);
  }

  /** Messages of my chats holding every word of `q`, newest first; `before` pages on. */
  searchMessages(query: {
    q: string;
    chatId?: string;
    before?: string;
  }): Promise<{ messages: Message[]; has_more: boolean }> {
    return this.actions.searchMessages(query);
  }

  setMuted(chatId: string, muted: boolean): Promise<void> {
    return this.actions.setMuted(chatId, muted);
  }

  // ---- notifications -------------------------------------------------------------------------

  /** Asks the browser; stores the answer in state.notifications. */
  async enableNotifications(): Promise<void> {
    const answer = await this.notifier.request();
    this.store.update((s) => ({ ...s, notifications: answer }));
  }

  /** Called when a notification is clicked: the UI navigates to the chat. */
  onOpenChatRequest(listener: (chatId: string) => void): () => void {
    return this.notifier.onOpenChatRequest(listener);
  }

  // ---- chats -----------------------------------------------------------------------------------

  /** The next older page of the chat list ("Load more chats", or scrolling to its end). */
  loadOlderChats(): Promise<void> {
    return this.chatList.loadOlder();
  }

  /** Every chat of the list, for a filter that must see them all. */
  loadAllChats(): Promise<void> {
    return this.chatList.loadAll();
  }

  /** A chat of mine by id, fetched if it is beyond the pages loaded; null if it is not mine. */
  findChat(chatId: string): Promise<Chat | null> {
    return this.chatList.fetchChat(chatId);
  }

  async searchUsers(q: string): Promise<User[]> {
    const { users } = await api.searchUsers(this.session.token, q);
    return users;
  }

  async openDirect(userId: string): Promise<Chat> {
    return this.chatList.adopt(
      await api.createChat(this.session.token, { type: 'direct', userId }),
    );
  }

  async createGroup(name: string, participantIds: string[]): Promise<Chat> {
    return this.chatList.adopt(
      await api.createChat(this.session.token, { type: 'group', name, participantIds }),
    );
  }

  async addParticipant(chatId: string, userId: string): Promise<Chat> {
    return this.chatList.adopt(await api.addParticipant(this.session.token, chatId, userId));
  }

  // ---- group management (each rejects with an Error whose message is in words) --------------

  renameGroup(chatId: string, name: string): Promise<void> {
    return this.actions.renameGroup(chatId, name);
  }

  /** The owner makes a participant an admin, or an admin a member again. */
  setRole(chatId: string, userId: string, role: 'admin' | 'member'): Promise<void> {
    return this.actions.setRole(chatId, userId, role);
  }

  removeParticipant(chatId: string, userId: string): Promise<void> {
    return this.actions.removeParticipant(chatId, userId);
  }

  /** Leaves the chat (a group or a direct one): it closes and leaves the chat list. */
  leaveChat(chatId: string): Promise<void> {
    return this.actions.leaveChat(chatId);
  }

  // ---- blocking ----------------------------------------------------------------------------

  /** The list of users I blocked, fetched again (the dialog that shows it calls this). */
  async loadBlocked(): Promise<void> {
    const { users } = await api.blockedUsers(this.session.token);
    this.store.update((s) => ({ ...s, blocked: users }));
  }

  async block(user: User): Promise<void> {
    await api.block(this.session.token, user.id);
    this.store.update((s) => ({
      ...s,
      blocked: [user, ...(s.blocked ?? []).filter((u) => u.id !== user.id)],
    }));
  }

  async unblock(userId: string): Promise<void> {
    await api.unblock(this.session.token, userId);
    this.store.update((s) => ({ ...s, blocked: (s.blocked ?? []).filter((u) => u.id !== userId) }));
  }
}
