import { afterEach, describe, expect, it, vi } from 'vitest';
import { emptyHistory } from '../state.js';
import * as f from '../test/factories.js';
import { ReadMarks } from './read-marks.js';
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

afterEach(() => vi.restoreAllMocks());

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
