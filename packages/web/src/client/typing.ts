// Typing indicators, both ways: announcing my own (throttled, stopped when idle) and showing
// others' (expired locally when their `typing:stop` got lost).
import type { Ack, TypingStartEvent } from '@parley/protocol';
import { namedTypist, setTyping } from '../state.js';
import type { Session } from './session.js';

type Timer = ReturnType<typeof setTimeout>;

/** The server expires a typist after ~5 s without a repeat; repeat well within that. */
export const TYPING_REPEAT_MS = 3_000;
export const TYPING_IDLE_MS = 3_000;
/** A typist whose `typing:stop` got lost disappears anyway. */
export const TYPING_EXPIRY_MS = 7_000;

export class Typing {
  private readonly expiry = new Map<string, Timer>();
  private readonly own = new Map<string, { lastSent: number; idle: Timer }>();

  constructor(private readonly session: Session) {}

  stop(): void {
    for (const t of this.expiry.values()) clearTimeout(t);
    for (const t of this.own.values()) clearTimeout(t.idle);
  }

  /** Call on every edit of the draft; announces typing, at most once per few seconds. */
  typing(chatId: string): void {
    const now = Date.now();
    const current = this.own.get(chatId);
    if (current) clearTimeout(current.idle);
    const idle = setTimeout(() => this.stopTyping(chatId), TYPING_IDLE_MS);
    // Offline, nothing counts as announced: the first keystroke after the reconnect announces.
    if (!current || now - current.lastSent >= TYPING_REPEAT_MS) {
      const sent = this.emit('typing:start', chatId);
      this.own.set(chatId, { lastSent: sent ? now : -Infinity, idle });
    } else {
      this.own.set(chatId, { ...current, idle });
    }
  }

  stopTyping(chatId: string): void {
    const current = this.own.get(chatId);
    if (!current) return;
    clearTimeout(current.idle);
    this.own.delete(chatId);
    this.emit('typing:stop', chatId);
  }

  /**
   * Typing notices go only over a live connection: socket.io would buffer them and deliver a
   * stale "typing" on reconnect, long after the person stopped.
   */
  private emit(event: 'typing:start' | 'typing:stop', chatId: string): boolean {
    if (!this.session.socket.connected) return false;
    this.session.socket.emit(event, { chatId }, ignoreRefusal);
    return true;
  }

  /** Someone else started or stopped typing. */
  onTyping(event: TypingStartEvent, active: boolean): void {
    if (event.userId === this.session.store.getState().me.id) return;
    const key = `${event.chatId}:${event.userId}`;
    clearTimeout(this.expiry.get(key));
    this.expiry.delete(key);
    // Shown by the name the chat knows them by, not their handle.
    const typist = namedTypist(this.session.store.getState(), event.chatId, {
      userId: event.userId,
      username: event.username,
    });
    this.session.store.update((s) => setTyping(s, event.chatId, typist, active));
    if (active) {
      this.expiry.set(
        key,
        setTimeout(() => {
          this.expiry.delete(key);
          this.session.store.update((s) => setTyping(s, event.chatId, typist, false));
        }, TYPING_EXPIRY_MS),
      );
    }
  }

  /** Their message arrived: the state drops the typist, so its expiry has nothing left to do. */
  sent(chatId: string, userId: string): void {
    const key = `${chatId}:${userId}`;
    clearTimeout(this.expiry.get(key));
    this.expiry.delete(key);
  }
}

/** Typing notices are best effort: a refusal (say, just removed from the chat) is not news. */
const ignoreRefusal = (ack: Ack): void => {
  if (!ack.ok) console.debug('typing notice refused', ack.error);
};
