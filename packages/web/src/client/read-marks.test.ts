import { afterEach, describe, expect, it, vi } from 'vitest';
import { emptyHistory } from '../state.js';
import * as f from '../test/factories.js';
import { ReadMarks, reportSeen } from './read-marks.js';
import { fakeSession } from './testing.js';

function setup(unread: number) {
  const alice = f.me({ username: 'alice' });
  const bob = f.user({ username: 'bob' });
  const base = f.chat([alice, bob]);
  const last = f.message(base, bob, 3);
  const chat = { ...base, last_message: last, unread_count: unread };
  const env = fakeSession(alice);
  env.store.update((s) => ({
    ...s,
    chats: [chat],
    histories: { [chat.id]: { ...emptyHistory(), loaded: true, messages: [last] } },
  }));
  return { ...env, alice, chat, last };
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('read marks', () => {
  it('marks the open chat read up to its newest message, at once here too', () => {
    const { socket, store, session, alice, chat, last } = setup(2);
    session.openChatId = chat.id;
    new ReadMarks(session).markRead();
    expect(socket.sent('message:read')).toEqual([{ chatId: chat.id, messageId: last.id }]);
    const mine = store.getState().chats[0]!;
    expect(mine.unread_count).toBe(0);
    expect(mine.participants.find((p) => p.id === alice.id)?.last_read_seq).toBe(3);
  });

  it('tells nothing for a hidden page, a closed chat, or a chat read already', () => {
    const { socket, session, chat } = setup(2);
    const marks = new ReadMarks(session);
    marks.markRead(); // nothing open
    session.openChatId = chat.id;
    vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    marks.markRead();
    vi.restoreAllMocks();
    marks.markRead();
    marks.markRead(); // read now: no second emit
    expect(socket.sent('message:read')).toHaveLength(1);
  });
});

describe('read marks follow what the list saw', () => {
  /** Ten messages from Bob, none read; the chat open on a visible page. */
  function open() {
    const alice = f.me({ username: 'alice' });
    const bob = f.user({ username: 'bob' });
    const base = f.chat([alice, bob]);
    const held = Array.from({ length: 10 }, (_, i) => f.message(base, bob, i + 1));
    const chat = { ...base, last_message: held[9]!, unread_count: 10 };
    const env = fakeSession(alice);
    env.store.update((s) => ({
      ...s,
      chats: [chat],
      histories: { [chat.id]: { ...emptyHistory(), loaded: true, messages: held } },
    }));
    env.session.openChatId = chat.id;
    // A browser whose list can tell what is on screen.
    vi.stubGlobal('IntersectionObserver', class {});
    const marks = new ReadMarks(env.session);
    marks.start();
    const mine = () => env.store.getState().chats[0]!;
    const mark = () => mine().participants.find((p) => p.id === alice.id)?.last_read_seq;
    return { ...env, chat, held, marks, mine, mark };
  }

  it('marks nothing on opening until the list says what was on screen', () => {
    const { socket, marks, mine } = open();
    marks.markRead();
    expect(socket.sent('message:read')).toEqual([]);
    expect(mine().unread_count).toBe(10);
    marks.stop();
  });

  it('marks read up to the highest message seen; the rest stays unread', () => {
    const { socket, marks, mine, mark, chat, held } = open();
    reportSeen({ chatId: chat.id, messageId: held[3]!.id, seq: 4 });
    expect(socket.sent('message:read')).toEqual([{ chatId: chat.id, messageId: held[3]!.id }]);
    expect(mark()).toBe(4);
    expect(mine().unread_count).toBe(6);
    // Seeing less (scrolled back up) never moves it back; another chat's report is not this one's.
    reportSeen({ chatId: chat.id, messageId: held[1]!.id, seq: 2 });
    reportSeen({ chatId: 'another-chat', messageId: 'x', seq: 9 });
    expect(socket.sent('message:read')).toHaveLength(1);
    // The newest seen: all read.
    reportSeen({ chatId: chat.id, messageId: held[9]!.id, seq: 10 });
    expect(socket.sent('message:read').at(-1)).toEqual({
      chatId: chat.id,
      messageId: held[9]!.id,
    });
    expect(mark()).toBe(10);
    expect(mine().unread_count).toBe(0);
    marks.stop();
  });

  it('tells nothing while the page is hidden; what was seen counts once it is visible', () => {
    const { socket, marks, chat, held } = open();
    const hidden = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    reportSeen({ chatId: chat.id, messageId: held[4]!.id, seq: 5 });
    expect(socket.sent('message:read')).toEqual([]);
    hidden.mockReturnValue('visible');
    document.dispatchEvent(new Event('visibilitychange'));
    expect(socket.sent('message:read')).toEqual([{ chatId: chat.id, messageId: held[4]!.id }]);
    marks.stop();
  });
});
