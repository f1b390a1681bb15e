// My read mark: told to the server when the open chat's newest message is on a visible screen,
// and applied here at once so the unread badge clears without waiting for the echo.
import { findChat, myReadSeq, readUpTo } from '../state.js';
import type { Session } from './session.js';

export class ReadMarks {
  constructor(private readonly session: Session) {}

  start(): void {
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  stop(): void {
    document.removeEventListener('visibilitychange', this.onVisibility);
  }

  private onVisibility = (): void => this.markRead();

  /** Tells the server the open chat's newest message was read, when it is on screen. */
  markRead(): void {
    const { store, socket, openChatId: chatId } = this.session;
    if (!chatId || document.visibilityState !== 'visible') return;
    const state = store.getState();
    const chat = findChat(state, chatId);
    const newest = chat?.last_message;
    if (!chat || !newest || !state.histories[chatId]?.loaded) return;
    const me = state.me.id;
    const mine = chat.participants.find((p) => p.id === me);
    if (myReadSeq(chat, me) >= newest.seq && chat.unread_count === 0) {
      // Nothing to tell the server; a mention count left over goes all the same.
      if ((mine?.unread_mentions ?? 0) > 0) store.update((s) => readUpTo(s, chatId, newest));
      return;
    }
    socket.emit('message:read', { chatId, messageId: newest.id }, (ack) => {
      if (!ack.ok) console.warn('message:read refused', ack.error);
    });
    store.update((s) => readUpTo(s, chatId, newest));
  }
}
