// The sync engine: the one place where what the server says is applied to the state, whether
// it comes as a live event, an acknowledgement or a catch-up fetch.
import {
  Chat,
  ChatRemovedEvent,
  ErrorEvent,
  Message,
  MessageReadEvent,
  TypingStartEvent,
  TypingStopEvent,
  UserStatusEvent,
} from '@parley/protocol';
import { describeError } from '../api.js';
import {
  applyRead,
  applyStatus,
  chatTitle,
  findChat,
  leavesGap,
  receiveMessage,
  upsertChat,
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
    connection.on('message:new', Message, (m) => this.message(m));
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

  /** A stored message: live, acknowledged, or fetched. */
  message(message: Message): void {
    const { store } = this.session;
    if (!findChat(store.getState(), message.chat_id)) {
      // A chat we have not heard of yet (its chat:new is late or was lost): ask for the list.
      void this.parts.chatList.resync();
      return;
    }
    // Keep the held history contiguous: after a gap, fetch everything after it, this included.
    const gap = leavesGap(store.getState().histories[message.chat_id], message);
    const viewing = this.session.isViewing(message.chat_id);
    store.update((s) => receiveMessage(s, message, viewing, !gap));
    if (gap) void this.parts.histories.catchUp(message.chat_id);
    this.parts.typing.sent(message.chat_id, message.sender_id);
    this.parts.readMarks.markRead();
  }

  /** A message fetched by catch-up: into the history, as it follows what is held. */
  caughtUp(message: Message): void {
    const viewing = this.session.isViewing(message.chat_id);
    this.session.store.update((s) => receiveMessage(s, message, viewing));
  }

  /** A chat as the server shows it now (chat:updated, or the answer to a change I made). */
  chat(chat: Chat): void {
    this.session.store.update((s) => ({ ...s, chats: upsertChat(s.chats, chat) }));
    this.parts.readMarks.markRead();
  }
}
