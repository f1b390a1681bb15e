// My read mark: told to the server for what the open chat's list actually showed on a visible
// screen, and applied here at once so the unread badge follows without waiting for the echo.
//
// The list reports what it saw (`reportSeen`, from its IntersectionObserver): opening a chat
// with 40 unread messages at the first of them marks read only what fits on the screen, and the
// rest as the reader scrolls down. Where the browser cannot tell what is on screen (no
// IntersectionObserver: very old browsers, jsdom), the newest message counts as seen once the
// chat is open on a visible page, as it did before.
import { applyRead, findChat, myReadSeq, readUpTo, type State } from '../state.js';
import type { Session } from './session.js';

/** A message of a chat that was on screen, on a visible page. */
export interface Seen {
  chatId: string;
  messageId: string;
  seq: number;
}

const SEEN = 'parley:seen';
const FOLLOWING = 'parley:following';
/** Between the lists that see and the client that tells the server: no import cycle, no prop. */
const seenEvents = new EventTarget();

/** Called by the message list: this message was on screen while the page was visible. */
export function reportSeen(seen: Seen): void {
  seenEvents.dispatchEvent(new CustomEvent<Seen>(SEEN, { detail: seen }));
}

/** A chat's list whether it is at its end, following what arrives (else scrolled up). */
export interface Following {
  chatId: string;
  following: boolean;
}

/**
 * Called by the message list as it leaves its end or comes back: while scrolled up, what
 * arrives is not seen, and its chat's unread count must not drop until it is.
 */
export function reportFollowing(following: Following): void {
  seenEvents.dispatchEvent(new CustomEvent<Following>(FOLLOWING, { detail: following }));
}

const listsReportSeen = (): boolean => typeof IntersectionObserver !== 'undefined';

/** I read the chat up to `seq`, short of its newest message: what is unread is what is left. */
function readPart(state: State, chatId: string, seen: Seen): State {
  const me = state.me.id;
  const next = applyRead(state, { chatId, userId: me, messageId: seen.messageId, seq: seen.seq });
  const held = next.histories[chatId]?.messages ?? [];
  const left = held.filter((m) => m.seq > seen.seq && m.sender_id !== me).length;
  return {
    ...next,
    chats: next.chats.map((c) =>
      c.id === chatId ? { ...c, unread_count: Math.min(c.unread_count, left) } : c,
    ),
  };
}

export class ReadMarks {
  /** The highest message seen on screen, per chat, since this session started. */
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly session: Session) {}

  start(): void {
    document.addEventListener('visibilitychange', this.onVisibility);
    seenEvents.addEventListener(SEEN, this.onSeen);
    seenEvents.addEventListener(FOLLOWING, this.onFollowing);
  }

  stop(): void {
    document.removeEventListener('visibilitychange', this.onVisibility);
    seenEvents.removeEventListener(SEEN, this.onSeen);
    seenEvents.removeEventListener(FOLLOWING, this.onFollowing);
  }

  private onFollowing = (event: Event): void => {
    const { chatId, following } = (event as CustomEvent<Following>).detail;
    const { session } = this;
    if (!following) session.scrolledUpIn = chatId;
    else if (session.scrolledUpIn === chatId) session.scrolledUpIn = null;
  };

  private onVisibility = (): void => this.markRead();

  private onSeen = (event: Event): void => {
    const seen = (event as CustomEvent<Seen>).detail;
    const before = this.seen.get(seen.chatId);
    if (before && before.seq >= seen.seq) return;
    this.seen.set(seen.chatId, seen);
    this.markRead();
  };

  /** Tells the server how far the open chat was read: what was seen, up to its newest message. */
  markRead(): void {
    const { store, socket, openChatId: chatId } = this.session;
    if (!chatId || document.visibilityState !== 'visible') return;
    const state = store.getState();
    const chat = findChat(state, chatId);
    const newest = chat?.last_message;
    if (!chat || !newest || !state.histories[chatId]?.loaded) return;
    const me = state.me.id;
    const seen = listsReportSeen() ? this.seen.get(chatId) : undefined;
    if (listsReportSeen() && !seen) return;
    if (seen && seen.seq < newest.seq) {
      if (myReadSeq(chat, me) >= seen.seq) return;
      socket.emit('message:read', { chatId, messageId: seen.messageId }, (ack) => {
        if (!ack.ok) console.warn('message:read refused', ack.error);
      });
      store.update((s) => readPart(s, chatId, seen));
      return;
    }
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
