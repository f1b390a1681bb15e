import { afterEach, describe, expect, it, vi } from 'vitest';
import { emptyHistory } from '../state.js';
import * as f from '../test/factories.js';
import { ChatList } from './chat-list.js';
import { Connection } from './connection.js';
import { Histories } from './history.js';
import { ReadMarks } from './read-marks.js';
import { Sync } from './sync.js';
import { fakeSession } from './testing.js';
import { Typing } from './typing.js';

afterEach(() => vi.restoreAllMocks());

function setup() {
  const alice = f.me({ username: 'alice' });
  const bob = f.user({ username: 'bob' });
  const chat = f.chat([alice, bob]);
  const env = fakeSession(alice);
  env.store.update((s) => ({
    ...s,
    chats: [chat],
    histories: { [chat.id]: { ...emptyHistory(), loaded: true } },
  }));
  const connection = new Connection(env.session, { connected: vi.fn(), disconnected: vi.fn() });
  const chatList = new ChatList(env.session, { listed: async () => {} });
  const histories = new Histories(env.session, { changes: vi.fn(), settled: vi.fn() });
  const resync = vi.spyOn(chatList, 'resync').mockResolvedValue();
  const fetchChat = vi.spyOn(chatList, 'fetchChat').mockResolvedValue(null);
  const catchUp = vi.spyOn(histories, 'catchUp').mockResolvedValue();
  const sync = new Sync(env.session, {
    connection,
    chatList,
    histories,
    readMarks: new ReadMarks(env.session),
    typing: new Typing(env.session),
  });
  sync.listen();
  return { ...env, alice, bob, chat, sync, resync, fetchChat, catchUp };
}

describe('the sync engine', () => {
  it('applies a new message to the chat and its held history', () => {
    const { socket, store, bob, chat } = setup();
    socket.serverEmit('message:new', f.message(chat, bob, 1, 'hi'));
    const s = store.getState();
    expect(s.histories[chat.id]?.messages.map((m) => m.content)).toEqual(['hi']);
    expect(s.chats[0]).toMatchObject({ unread_count: 1, last_message: { content: 'hi' } });
  });

  it('fetches what lies in a gap instead of holding a history with a hole', () => {
    const { socket, store, bob, chat, catchUp } = setup();
    socket.serverEmit('message:new', f.message(chat, bob, 1));
    socket.serverEmit('message:new', f.message(chat, bob, 3));
    expect(store.getState().histories[chat.id]?.messages.map((m) => m.seq)).toEqual([1]);
    expect(store.getState().chats[0]?.last_message?.seq).toBe(3);
    expect(catchUp).toHaveBeenCalledWith(chat.id);
  });

  it('fetches a chat it has not heard of (beyond the pages loaded) on a message in it', () => {
    const { socket, bob, resync, fetchChat } = setup();
    const other = f.chat([bob, f.user()]);
    socket.serverEmit('message:new', f.message(other, bob, 1));
    expect(fetchChat).toHaveBeenCalledWith(other.id);
    expect(resync).not.toHaveBeenCalled();
  });

  it('adds chats, and says so in words when I am removed from one', () => {
    const { socket, store, alice, bob, chat } = setup();
    const group = f.chat([alice, bob], { name: 'Team' });
    socket.serverEmit('chat:new', group);
    expect(store.getState().chats.map((c) => c.id)).toContain(group.id);
    socket.serverEmit('chat:removed', { chatId: group.id });
    expect(store.getState().chats.map((c) => c.id)).toEqual([chat.id]);
    expect(store.getState().notice?.text).toBe('You are no longer in “Team”.');
  });

  it('applies edits, deletes and reactions from the server, and catches up after a skipped version', () => {
    const { socket, store, alice, bob, chat, catchUp } = setup();
    const m1 = { ...f.message(chat, bob, 1, 'hi'), version: 1 };
    socket.serverEmit('message:new', m1);
    socket.serverEmit('message:updated', { ...m1, content: 'hello', version: 2 });
    socket.serverEmit('reaction:updated', {
      chatId: chat.id,
      messageId: m1.id,
      emoji: '👍',
      userId: alice.id,
      op: 'add',
      count: 1,
      version: 3,
    });
    const held = () => store.getState().histories[chat.id]!;
    expect(held().messages[0]).toMatchObject({ content: 'hello', reactions: [{ count: 1 }] });
    expect(held().version).toBe(3);
    expect(catchUp).not.toHaveBeenCalled();
    socket.serverEmit('message:deleted', {
      chatId: chat.id,
      messageId: m1.id,
      seq: 1,
      version: 5, // version 4 never came
      deletedAt: '2026-01-02T00:00:00.000Z',
    });
    expect(held().messages[0]).toMatchObject({ content: '', reactions: [] });
    expect(catchUp).toHaveBeenCalledWith(chat.id);
  });

  it('tells who listens of a new message that arrived live, not of my own acknowledged', () => {
    const { store, session, alice, bob, chat } = setup();
    const arrived = vi.fn();
    const sync = new Sync(session, {
      connection: new Connection(session, { connected: vi.fn(), disconnected: vi.fn() }),
      chatList: new ChatList(session, { listed: async () => {} }),
      histories: new Histories(session, { changes: vi.fn(), settled: vi.fn() }),
      readMarks: new ReadMarks(session),
      typing: new Typing(session),
      arrived,
    });
    sync.message({ ...f.message(chat, alice, 1), version: 1 });
    sync.message({ ...f.message(chat, bob, 2), version: 2 }, true);
    expect(arrived).toHaveBeenCalledTimes(1);
    expect(arrived.mock.calls[0]?.[1]).toBe(store.getState());
  });

  it('applies read marks, presence and typing', () => {
    const { socket, store, bob, chat } = setup();
    socket.serverEmit('message:read', {
      chatId: chat.id,
      userId: bob.id,
      messageId: chat.id,
      seq: 4,
    });
    socket.serverEmit('user:status', {
      userId: bob.id,
      status: 'offline',
      lastSeenAt: chat.created_at,
    });
    socket.serverEmit('typing:start', { chatId: chat.id, userId: bob.id, username: 'bob' });
    const s = store.getState();
    const b = s.chats[0]?.participants.find((p) => p.id === bob.id);
    expect(b).toMatchObject({ last_read_seq: 4, status: 'offline' });
    expect(s.typing[chat.id]).toEqual([{ userId: bob.id, username: 'bob' }]);
  });
});
