import { describe, expect, it } from 'vitest';
import {
  applyChanges,
  applyMessageDeleted,
  applyMessageUpdated,
  applyReaction,
  applyReactionEvent,
  applyRead,
  applyStatus,
  chatTitle,
  emptyHistory,
  initialState,
  joinPages,
  leavesGap,
  mergeChatList,
  mergeChatPage,
  mergeMessages,
  namedTypist,
  presenceUnknown,
  readUpTo,
  receiveMessage,
  replyPreview,
  versionGap,
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

  it('says who is typing by display name, in one sentence', () => {
    const bob = { userId: '1', username: 'bob', name: 'Bob' };
    const carol = { userId: '2', username: 'carol', name: 'Carol' };
    const dana = { userId: '3', username: 'dana' };
    expect(typingText([])).toBe('');
    expect(typingText([{ userId: '1', username: 'bob' }])).toBe('bob is typing…');
    expect(typingText([bob])).toBe('Bob is typing…');
    expect(typingText([bob, carol])).toBe('Bob and Carol are typing…');
    expect(typingText([bob, bob])).toBe('Bob is typing…');
    expect(typingText([bob, carol, dana])).toBe('Several people are typing…');
  });

  it('names a typist as the chat knows them', () => {
    const { alice, state } = setup();
    const carol = f.user({ username: 'carol', display_name: 'Carol Reed' });
    const group = f.chat([alice, carol]);
    const s = { ...state, chats: [...state.chats, group] };
    const typist = { userId: carol.id, username: 'carol' };
    expect(namedTypist(s, group.id, typist)).toEqual({ ...typist, name: 'Carol Reed' });
    // Not (or no longer) a participant here: the username it came with.
    expect(namedTypist(s, state.chats[0]!.id, typist)).toEqual(typist);
  });

  it('knows no one’s presence while disconnected', () => {
    const { alice, bob, direct, state } = setup();
    const hidden = f.user({ username: 'hidden', status: null, last_seen_at: null });
    const group = f.chat([alice, bob, hidden]);
    const s = presenceUnknown({ ...state, chats: [direct, group] });
    expect(s.chats.flatMap((c) => c.participants.map((p) => p.status))).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
    // last seen stays; nothing left to forget changes nothing.
    expect(s.chats[0]?.participants.find((p) => p.id === bob.id)?.last_seen_at).toBe(
      bob.last_seen_at,
    );
    expect(presenceUnknown(s)).toBe(s);
    // The reconnect's chat list brings it back.
    const back = mergeChatList(s.chats, [direct, group], new Set(), new Set());
    expect(back.find((c) => c.id === direct.id)?.participants.map((p) => p.status)).toEqual([
      'online',
      'online',
    ]);
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

describe('message changes', () => {
  /** A loaded history of bob's messages 1..n (versions 1..n), one of them answered by 3. */
  function held(n = 3) {
    const { alice, bob, direct, state } = setup();
    const messages = Array.from({ length: n }, (_, i) => f.message(direct, bob, i + 1));
    const [m1] = messages;
    messages[2] = { ...messages[2]!, reply_to: replyPreview(m1!) };
    const chat = { ...direct, last_message: messages.at(-1)!, version: n };
    const s: State = {
      ...state,
      chats: [chat],
      histories: { [direct.id]: { ...emptyHistory(), loaded: true, messages, version: n } },
    };
    return { alice, bob, direct, s, messages };
  }
  const history = (s: State, chatId: string) => s.histories[chatId]!;

  it('replaces an edited message and refreshes the quotes of its replies and the list', () => {
    const { direct, s, messages } = held();
    const [m1, , m3] = messages;
    const edited = { ...m1!, content: 'fixed', edited_at: m1!.created_at, version: 4 };
    let next = applyMessageUpdated(s, edited);
    expect(history(next, direct.id).messages[0]?.content).toBe('fixed');
    expect(history(next, direct.id).messages[2]?.reply_to).toMatchObject({ content: 'fixed' });
    expect(history(next, direct.id).version).toBe(4);
    expect(next.chats[0]?.version).toBe(4);
    // The newest message edited: the chat list shows the new text.
    next = applyMessageUpdated(next, { ...m3!, content: 'newest, fixed', version: 5 });
    expect(next.chats[0]?.last_message?.content).toBe('newest, fixed');
    // A copy older than the one held changes nothing.
    const stale = applyMessageUpdated(next, { ...m1!, content: 'old', version: 2 });
    expect(history(stale, direct.id).messages[0]?.content).toBe('fixed');
  });

  it('leaves a tombstone in place of a deleted message, and quotes of it say deleted', () => {
    const { bob, direct, s, messages } = held();
    const [m1] = messages;
    const withReaction = applyReaction(s, {
      chatId: direct.id,
      messageId: m1!.id,
      emoji: '👍',
      userId: bob.id,
      op: 'add',
      count: 1,
      version: 4,
    });
    const next = applyMessageDeleted(withReaction, {
      chatId: direct.id,
      messageId: m1!.id,
      seq: 1,
      version: 5,
      deletedAt: '2026-01-02T00:00:00.000Z',
    });
    const [tomb, , reply] = history(next, direct.id).messages;
    expect(tomb).toMatchObject({
      id: m1!.id,
      seq: 1,
      content: '',
      deleted_at: '2026-01-02T00:00:00.000Z',
      reactions: [],
      mentions: [],
      attachments: [],
      version: 5,
    });
    expect(reply?.reply_to).toMatchObject({ id: m1!.id, content: '', deleted: true });
  });

  it('keeps reactions in the order first added; one nobody keeps goes away', () => {
    const r = (emoji: string, userId: string, op: 'add' | 'remove', count: number) => ({
      emoji,
      userId,
      op,
      count,
    });
    let reactions = applyReactionEvent([], r('👍', 'a', 'add', 1));
    reactions = applyReactionEvent(reactions, r('❤️', 'b', 'add', 1));
    reactions = applyReactionEvent(reactions, r('👍', 'b', 'add', 2));
    expect(reactions).toEqual([
      { emoji: '👍', count: 2, user_ids: ['a', 'b'] },
      { emoji: '❤️', count: 1, user_ids: ['b'] },
    ]);
    // The same event twice changes nothing.
    expect(applyReactionEvent(reactions, r('👍', 'b', 'add', 2))).toEqual(reactions);
    reactions = applyReactionEvent(reactions, r('👍', 'a', 'remove', 1));
    reactions = applyReactionEvent(reactions, r('👍', 'b', 'remove', 0));
    expect(reactions.map((x) => x.emoji)).toEqual(['❤️']);
    // Added again by anyone: last.
    reactions = applyReactionEvent(reactions, r('👍', 'a', 'add', 1));
    expect(reactions.map((x) => x.emoji)).toEqual(['❤️', '👍']);
  });

  it('applies a reaction event once: a copy that already has it is left alone', () => {
    const { bob, direct, s, messages } = held();
    const event = {
      chatId: direct.id,
      messageId: messages[1]!.id,
      emoji: '🎉',
      userId: bob.id,
      op: 'add' as const,
      count: 1,
      version: 4,
    };
    const once = applyReaction(s, event);
    expect(applyReaction(once, event)).toBe(once);
    expect(history(once, direct.id).messages[1]?.reactions).toEqual([
      { emoji: '🎉', count: 1, user_ids: [bob.id] },
    ]);
  });

  it('notices a skipped version, and moves the held version on only without one', () => {
    const { bob, direct, s } = held();
    expect(versionGap(s, direct.id, 4)).toBe(false);
    expect(versionGap(s, direct.id, 6)).toBe(true);
    const after = receiveMessage(s, { ...f.message(direct, bob, 4), version: 4 }, false);
    expect(history(after, direct.id).version).toBe(4);
    const skipped = applyReaction(after, {
      chatId: direct.id,
      messageId: 'x',
      emoji: '👍',
      userId: bob.id,
      op: 'add',
      count: 1,
      version: 9,
    });
    expect(history(skipped, direct.id).version).toBe(4);
    expect(skipped.chats[0]?.version).toBe(9);
  });

  it('keeps the copy with the higher version when two meet', () => {
    const { bob, direct } = setup();
    const m = f.message(direct, bob, 1);
    const newer = { ...m, content: 'newer', version: 5 };
    expect(mergeMessages([newer], [m])[0]?.content).toBe('newer');
    expect(mergeMessages([m], [newer])[0]?.content).toBe('newer');
  });

  it('merges caught-up changes: new ones after the held in seq order, changed ones in place', () => {
    const { bob, direct, s, messages } = held();
    const m4 = { ...f.message(direct, bob, 4), version: 6 };
    const m5 = { ...f.message(direct, bob, 5), version: 5 };
    const m1 = { ...messages[0]!, content: 'edited away', version: 7 };
    const next = applyChanges(s, direct.id, [m5, m4, m1], 7, false);
    expect(history(next, direct.id).messages.map((m) => [m.seq, m.content])).toEqual([
      [1, 'edited away'],
      [2, 'message 2'],
      [3, 'message 3'],
      [4, 'message 4'],
      [5, 'message 5'],
    ]);
    expect(history(next, direct.id).messages[2]?.reply_to?.content).toBe('edited away');
    expect(history(next, direct.id).version).toBe(7);
    expect(next.chats[0]).toMatchObject({ version: 7, unread_count: 2 });
    expect(next.chats[0]?.last_message?.seq).toBe(5);
  });

  it('counts unread mentions of me, and clears them when I read', () => {
    const { alice, bob, direct, s } = held();
    const mine = (st: State) =>
      st.chats[0]?.participants.find((p) => p.id === alice.id)?.unread_mentions;
    const mention = {
      ...f.message(direct, bob, 4, '@alice look'),
      mentions: [alice.id],
      version: 4,
    };
    let next = receiveMessage(s, mention, false);
    next = receiveMessage(next, mention, false); // a repeat counts once
    expect(mine(next)).toBe(1);
    // Edited so it no longer names me: one fewer.
    next = applyMessageUpdated(next, { ...mention, content: 'look', mentions: [], version: 5 });
    expect(mine(next)).toBe(0);
    next = applyMessageUpdated(next, { ...mention, mentions: [alice.id], version: 6 });
    expect(mine(next)).toBe(1);
    next = readUpTo(next, direct.id, next.chats[0]!.last_message!);
    expect(mine(next)).toBe(0);
    expect(next.chats[0]?.unread_count).toBe(0);
    // Seen while viewing: never counted.
    const seen = receiveMessage(
      next,
      { ...f.message(direct, bob, 5, '@alice'), mentions: [alice.id], version: 7 },
      true,
    );
    expect(mine(seen)).toBe(0);
  });

  it('recounts my mentions from the history when another device reads part of the way', () => {
    const { alice, bob, direct, s } = held();
    let next = s;
    for (const seq of [4, 5, 6]) {
      const m = { ...f.message(direct, bob, seq, '@alice'), mentions: [alice.id], version: seq };
      next = receiveMessage(next, m, false);
    }
    const read = applyRead(next, { chatId: direct.id, userId: alice.id, messageId: 'x', seq: 4 });
    expect(read.chats[0]?.participants.find((p) => p.id === alice.id)?.unread_mentions).toBe(2);
  });
});

describe('chatTitle', () => {
  it('names a direct chat after the other person, and after who they were once they left', () => {
    const me = f.user({ username: 'alice', display_name: 'Alice' });
    const bob = f.user({ username: 'bob', display_name: 'Bob' });
    const chat = f.chat([me, bob], { type: 'direct', name: null });
    expect(chatTitle(chat, me.id)).toBe('Bob');
    // Bob left: his line is the chat's last message.
    const left = { ...f.message(chat, bob, 1, 'Bob left'), message_type: 'system' as const };
    const alone = { ...chat, participants: chat.participants.slice(0, 1), last_message: left };
    expect(chatTitle(alone, me.id)).toBe('Bob');
    // Mine came after: the history at hand still tells.
    const mine = f.message(chat, me, 2, 'still there?');
    expect(chatTitle({ ...alone, last_message: mine }, me.id, [left, mine])).toBe('Bob');
    expect(chatTitle({ ...alone, last_message: mine }, me.id)).toBe('Just you');
  });
});
