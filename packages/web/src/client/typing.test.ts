import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { typingText } from '../state.js';
import * as f from '../test/factories.js';
import { fakeSession } from './testing.js';
import { TYPING_EXPIRY_MS, TYPING_IDLE_MS, Typing } from './typing.js';

describe('typing indicators', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('announces my typing at most every few seconds, and stops when I go idle', () => {
    const { socket, session } = fakeSession(f.me());
    socket.serverEmit('connect');
    const typing = new Typing(session);
    typing.typing('c1');
    typing.typing('c1');
    expect(socket.sent('typing:start')).toHaveLength(1);
    vi.advanceTimersByTime(TYPING_IDLE_MS);
    expect(socket.sent('typing:stop')).toEqual([{ chatId: 'c1' }]);
    typing.stopTyping('c1'); // already stopped: nothing more
    expect(socket.sent('typing:stop')).toHaveLength(1);
  });

  it('shows others typing until they stop, or until it expires', () => {
    const { store, session } = fakeSession(f.me());
    const typing = new Typing(session);
    typing.onTyping({ chatId: 'c1', userId: 'u2', username: 'bob' }, true);
    expect(store.getState().typing.c1).toEqual([{ userId: 'u2', username: 'bob' }]);
    typing.onTyping({ chatId: 'c1', userId: 'u2', username: '' }, false);
    expect(store.getState().typing.c1).toEqual([]);
    typing.onTyping({ chatId: 'c1', userId: 'u3', username: 'carol' }, true);
    vi.advanceTimersByTime(TYPING_EXPIRY_MS);
    expect(store.getState().typing.c1).toEqual([]);
  });

  it('announces nothing while disconnected (no stale "typing" delivered on reconnect)', () => {
    const { socket, session } = fakeSession(f.me());
    const typing = new Typing(session);
    typing.typing('c1');
    vi.advanceTimersByTime(TYPING_IDLE_MS);
    expect(socket.emitted).toEqual([]);
    // Back online, the next keystroke announces at once.
    typing.typing('c1');
    socket.serverEmit('connect');
    typing.typing('c1');
    expect(socket.sent('typing:start')).toEqual([{ chatId: 'c1' }]);
  });

  it('shows others by their display name in the chat', () => {
    const me = f.me();
    const bob = f.user({ username: 'bob', display_name: 'Bob Marley' });
    const carol = f.user({ username: 'carol', display_name: 'Carol' });
    const chat = f.chat([me, bob, carol]);
    const { store, session } = fakeSession(me);
    store.update((s) => ({ ...s, chats: [chat] }));
    const typing = new Typing(session);
    typing.onTyping({ chatId: chat.id, userId: bob.id, username: 'bob' }, true);
    typing.onTyping({ chatId: chat.id, userId: carol.id, username: 'carol' }, true);
    typing.onTyping({ chatId: chat.id, userId: bob.id, username: 'bob' }, true); // a repeat
    expect(typingText(store.getState().typing[chat.id] ?? [])).toBe(
      'Bob Marley and Carol are typing…',
    );
  });

  it('ignores my own typing echoed from another tab', () => {
    const me = f.me();
    const { store, session } = fakeSession(me);
    new Typing(session).onTyping({ chatId: 'c1', userId: me.id, username: me.username }, true);
    expect(store.getState().typing.c1).toBeUndefined();
  });
});
