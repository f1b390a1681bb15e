// The sync engine: the one place where what the server says is applied to the state, whether
// it comes as a live event, an acknowledgement or a catch-up fetch. Every message change
// carries the chat's version: one that skips a version shows a change was missed, and the
// chat's history catches up (`changes?since`) instead of guessing.
import {
  Chat,
  ChatRemovedEvent,
  ErrorEvent,
  Message,
  MessageDeletedEvent,
  MessageReadEvent,
  ReactionUpdatedEvent,
  TypingStartEvent,
  TypingStopEvent,
  UserStatusEvent,
} from '@parley/protocol';
import { describeError } from '../api.js';
import {
  applyChanges,
  applyMessageDeleted,
  applyMessageUpdated,
  applyReaction,
  applyRead,
  applyStatus,
  chatTitle,
  findChat,
  leavesGap,
  receiveMessage,
  upsertChat,
  versionGap,
  type State,
} from '../state.js';
import type { ChatList } from './chat-list.js';
import type { Connection } from './connection.js';
import type { Histories } from './history.js';
import type { ReadMarks } from './read-marks.js';
import type { Session } from './session.js';
import type { Typing } from './typing.js';

export interface SyncParts {
  connection: Connection;
  chatList: ChatList;
  histories: Histories;
  readMarks: ReadMarks;
  typing: Typing;
  /** A new message arrived live (not by a fetch or my own acknowledgement). */
  arrived?: (message: Message, state: State) => void;
}

export class Sync {
  constructor(
    private readonly session: Session,
    private readonly parts: SyncParts,
  ) {}

  /** Subscribes to every server event. */
  listen(): void {
    const { connection, chatList, typing } = this.parts;
    const { store } = this.session;
    connection.on('message:new', Message, (m) => this.message(m, true));
    connection.on('message:updated', Message, (m) => this.updated(m, true));
    connection.on('message:deleted', MessageDeletedEvent, (e) =>
      this.change(e.chatId, e.version, true, (s) => applyMessageDeleted(s, e)),
    );
    connection.on('reaction:updated', ReactionUpdatedEvent, (e) =>
      this.change(e.chatId, e.version, true, (s) => applyReaction(s, e)),
    );
    connection.on('message:read', MessageReadEvent, (e) => store.update((s) => applyRead(s, e)));
    connection.on('user:status', UserStatusEvent, (e) => store.update((s) => applyStatus(s, e)));
    connection.on('typing:start', TypingStartEvent, (e) => typing.onTyping(e, true));
    connection.on('typing:stop', TypingStopEvent, (e) =>
      typing.onTyping({ ...e, username: '' }, false),
    );
    connection.on('chat:new', Chat, (chat) => {
      chatList.added(chat);
      this.parts.readMarks.markRead();
    });
    connection.on('chat:updated', Chat, (chat) => this.chat(chat));
    connection.on('chat:removed', ChatRemovedEvent, ({ chatId }) => {
      const chat = findChat(store.getState(), chatId);
      chatList.removed(chatId);
      if (chat) store.notify(`You are no longer in “${chatTitle(chat, store.getState().me.id)}”.`);
    });
    connection.on('error', ErrorEvent, (e) => store.notify(describeError(e.code, e.message)));
  }

  /** A stored message: live (`message:new`), or my own send acknowledged. */
  message(message: Message, live = false): void {
    const { store } = this.session;
    const before = store.getState();
    if (!findChat(before, message.chat_id)) {
      // A chat beyond the pages loaded, or one whose chat:new is late or was lost: fetch it (its
      // last message is this one).
      void this.parts.chatList.fetchChat(message.chat_id);
      return;
    }
    // Keep the held history contiguous: a message after a gap waits for the catch-up.
    const gap = leavesGap(before.histories[message.chat_id], message);
    const isNew = message.seq > (findChat(before, message.chat_id)?.last_message?.seq ?? 0);
    const viewing = this.session.isViewing(message.chat_id);
    this.change(message.chat_id, message.version, live && !gap, (s) =>
      receiveMessage(s, message, viewing, !gap),
    );
    if (gap) void this.parts.histories.catchUp(message.chat_id);
    this.parts.typing.sent(message.chat_id, message.sender_id);
    if (live && isNew) this.parts.arrived?.(message, store.getState());
    this.parts.readMarks.markRead();
  }

  /** An edited message: live (`message:updated`), or my own edit acknowledged. */
  updated(message: Message, live = false): void {
    this.change(message.chat_id, message.version, live, (s) => applyMessageUpdated(s, message));
  }

  /** What `changes?since` returned for a held history. */
  changes(chatId: string, messages: Message[], version: number): void {
    const viewing = this.session.isViewing(chatId);
    this.session.store.update((s) => applyChanges(s, chatId, messages, version, viewing));
  }

  /** A chat as the server shows it now (chat:updated, or the answer to a change I made). */
  chat(chat: Chat): void {
    this.session.store.update((s) => ({ ...s, chats: upsertChat(s.chats, chat) }));
    this.parts.readMarks.markRead();
  }

  /**
   * Applies one change of the chat's messages. A live one that skips a version means one was
   * missed (or is still on its way from another server process): the history catches up.
   */
  private change(
    chatId: string,
    version: number,
    checkGap: boolean,
    apply: (s: State) => State,
  ): void {
    const { store } = this.session;
    const gap = checkGap && versionGap(store.getState(), chatId, version);
    store.update(apply);
    if (gap) void this.parts.histories.catchUp(chatId);
  }
}
