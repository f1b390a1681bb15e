import { describe, expect, it } from 'vitest';
import {
  applyRead,
  applyStatus,
  emptyHistory,
  initialState,
  joinPages,
  leavesGap,
  mergeChatList,
  mergeChatPage,
  receiveMessage,
  sortChats,
  typingText,
  type State,
} from './state.js';
import * as f from './test/factories.js';

function setup() {
  const alice = f.me({ username: 'alice' });
  const bob = f.user({ username: 'bob' });
  const direct = f.chat([alice, bob]);
  const state: State = {
    ...initialState(alice),
    chats: [direct],
    histories: { [direct.id]: { ...emptyHistory(), loaded: true } },
  };
  return { alice, bob, direct, state };
}

describe('the chat state', () => {
  it('shows each message once, in seq order, however it arrives', () => {
    const { bob, direct, state } = setup();
    const [m1, m2, m3] = [1, 2, 3].map((seq) => f.message(direct, bob, seq));
    let s = state;
    for (const m of [m2!, m1!, m3!, m2!, m1!]) s = receiveMessage(s, m, true);
    expect(s.histories[direct.id]?.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(s.chats[0]?.last_message?.seq).toBe(3);
  });

  it('counts other people’s messages as unread only while the chat is not being viewed', () => {
    const { alice, bob, direct, state } = setup();
    let s = receiveMessage(state, f.message(direct, bob, 1), false);
    s = receiveMessage(s, f.message(direct, bob, 2), false);
    s = receiveMessage(s, f.message(direct, bob, 2), false); // a repeat is not new
    expect(s.chats[0]?.unread_count).toBe(2);
    s = receiveMessage(s, f.message(direct, alice, 3), false);
    expect(s.chats[0]?.unread_count).toBe(0);
    s = receiveMessage(s, f.message(direct, bob, 4), true);
    expect(s.chats[0]?.unread_count).toBe(0);
  });

  it('replaces an optimistic message by the stored one with the same clientMessageId', () => {
    const { alice, direct, state } = setup();
    const pending = {
      clientMessageId: 'c-1',
      chatId: direct.id,
      content: 'hi',
      createdAt: new Date().toISOString(),
      status: 'sending' as const,
      error: null,
      replyToId: null,
    };
    const s0 = { ...state, outgoing: { [direct.id]: [pending] } };
    const stored = { ...f.message(direct, alice, 1, 'hi'), client_message_id: 'c-1' };
    const s1 = receiveMessage(s0, stored, true);
    expect(s1.outgoing[direct.id]).toEqual([]);
    expect(s1.histories[direct.id]?.messages).toHaveLength(1);
    // Sending moved the sender's own read mark.
    expect(s1.chats[0]?.participants.find((p) => p.id === alice.id)?.last_read_seq).toBe(1);
  });

  it('puts the chat with the newest activity first', () => {
    const { alice, bob } = setup();
    const carol = f.user({ username: 'carol' });
    const old = f.chat([alice, bob], { created_at: '2026-01-01T08:00:00.000Z' });
    const fresh = f.chat([alice, carol], { created_at: '2026-01-01T09:30:00.000Z' });
    const chats = sortChats([old, fresh]);
    expect(chats.map((c) => c.id)).toEqual([fresh.id, old.id]);
    const s = receiveMessage(
      { ...initialState(alice), chats },
      f.message(old, bob, 1, 'news'),
      false,
    );
    expect(s.chats[0]?.id).toBe(old.id);
  });

  it('notices a gap in the held history', () => {
    const { bob, direct } = setup();
    const history = { ...emptyHistory(), loaded: true, messages: [f.message(direct, bob, 1)] };
    expect(leavesGap(history, f.message(direct, bob, 2))).toBe(false);
    expect(leavesGap(history, f.message(direct, bob, 4))).toBe(true);
  });

  it('moves read marks forward only, and presence with user:status', () => {
    const { alice, bob, direct, state } = setup();
    const base = { chatId: direct.id, userId: bob.id, messageId: direct.id };
    let s = applyRead(state, { ...base, seq: 5 });
    s = applyRead(s, { ...base, seq: 3 });
    expect(s.chats[0]?.participants.find((p) => p.id === bob.id)?.last_read_seq).toBe(5);
    const lastSeenAt = '2026-01-01T12:00:00.000Z';
    s = applyStatus(s, { userId: bob.id, status: 'offline', lastSeenAt });
    const b = s.chats[0]?.participants.find((p) => p.id === bob.id);
    expect([b?.status, b?.last_seen_at]).toEqual(['offline', lastSeenAt]);
    expect(s.chats[0]?.participants.find((p) => p.id === alice.id)?.status).toBe('online');
  });

  it('says who is typing', () => {
    expect(typingText([])).toBe('');
    expect(typingText([{ userId: '1', username: 'bob' }])).toBe('bob is typing…');
  });

  it('takes the fetched chat list as the truth, except for what happened meanwhile', () => {
    const { alice, bob, direct } = setup();
    const carol = f.user({ username: 'carol' });
    const dana = f.user({ username: 'dana' });
    const fresh = f.chat([alice, carol]); // chat:new while the list was being fetched
    const gone = f.chat([alice, dana]); // chat:removed meanwhile; the fetched list still has it
    const stale = f.chat([alice, bob], { id: direct.id }); // fetched before message 2
    const local = [{ ...direct, last_message: f.message(direct, bob, 2, 'newer') }, fresh];
    const merged = mergeChatList(local, [stale, gone], new Set([fresh.id]), new Set([gone.id]));
    expect(merged.map((c) => c.id).sort()).toEqual([direct.id, fresh.id].sort());
    expect(merged.find((c) => c.id === direct.id)?.last_message?.content).toBe('newer');
  });

  it('joins the pages of the chat list, each chat once, its newest copy kept', () => {
    const { alice, bob, direct } = setup();
    const team = f.chat([alice, bob], { name: 'Team' });
    const moved = { ...direct, updated_at: '2026-01-02T00:00:00.000Z', unread_count: 3 };
    // The direct chat got a message while the pages loaded: it shows up on both.
    const joined = joinPages([[direct, team], [moved]]);
    expect(joined.map((c) => c.id).sort()).toEqual([direct.id, team.id].sort());
    expect(joined.find((c) => c.id === direct.id)?.unread_count).toBe(3);
    expect(joinPages([[moved], [direct]]).find((c) => c.id === direct.id)?.unread_count).toBe(3);
  });

  it('shows a page as it arrives without dropping chats the later pages hold', () => {
    const { alice, bob, direct } = setup();
    const team = f.chat([alice, bob], { name: 'Team' });
    const gone = f.chat([alice, bob], { name: 'Left meanwhile' });
    const shown = mergeChatPage([direct], [team, gone], new Set([gone.id]));
    expect(shown.map((c) => c.id).sort()).toEqual([direct.id, team.id].sort());
  });
});
