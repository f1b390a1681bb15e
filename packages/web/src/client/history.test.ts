import type { Message } from '@parley/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { receiveMessage } from '../state.js';
import * as f from '../test/factories.js';
import { Histories } from './history.js';
import { FakeServer, fakeSession } from './testing.js';

afterEach(() => vi.unstubAllGlobals());

function setup(total: number) {
  const alice = f.me({ username: 'alice' });
  const bob = f.user({ username: 'bob' });
  const chat = f.chat([alice, bob]);
  const all = Array.from({ length: total }, (_, i) => f.message(chat, bob, i + 1));
  const server = new FakeServer();
  // The server's GET messages: newest `limit` before a cursor, or oldest `limit` after one.
  server.route('GET', /\/messages$/, (call) => {
    const limit = Number(call.query.get('limit') ?? 50);
    const before = call.query.get('before');
    const after = call.query.get('after');
    let page: Message[];
    let hasMore: boolean;
    if (after) {
      const from = all.findIndex((m) => m.id === after) + 1;
      page = all.slice(from, from + limit);
      hasMore = from + limit < all.length;
    } else {
      const end = before ? all.findIndex((m) => m.id === before) : all.length;
      page = all.slice(Math.max(0, end - limit), end);
      hasMore = end - limit > 0;
    }
    return { status: 200, body: { messages: page, has_more: hasMore } };
  });
  server.install();
  const env = fakeSession(alice);
  env.store.update((s) => ({ ...s, chats: [chat] }));
  const settled = vi.fn();
  const histories = new Histories(env.session, {
    caughtUp: (m) => env.store.update((s) => receiveMessage(s, m, false)),
    settled,
  });
  return { ...env, alice, bob, chat, all, server, histories, settled };
}

describe('histories', () => {
  it('loads the latest page, then older ones until there are no more', async () => {
    const { store, chat, histories } = setup(120);
    await histories.loadLatest(chat.id);
    expect(store.getState().histories[chat.id]).toMatchObject({ loaded: true, hasMore: true });
    expect(store.getState().histories[chat.id]?.messages[0]?.seq).toBe(71);
    await histories.loadOlder(chat.id);
    await histories.loadOlder(chat.id);
    await histories.loadOlder(chat.id); // nothing more: no request
    const held = store.getState().histories[chat.id]!;
    expect(held.messages.map((m) => m.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(held.hasMore).toBe(false);
  });

  it('catches up what was missed, contiguously', async () => {
    const { store, chat, bob, all, histories } = setup(10);
    await histories.loadLatest(chat.id);
    for (let seq = 11; seq <= 14; seq++) all.push(f.message(chat, bob, seq));
    await histories.catchUpHeld();
    expect(store.getState().histories[chat.id]?.messages.map((m) => m.seq)).toEqual(
      Array.from({ length: 14 }, (_, i) => i + 1),
    );
  });

  it('shows a load failure in words on the history', async () => {
    const { store, chat, server, histories } = setup(0);
    server.route('GET', /\/messages$/, () => ({
      status: 403,
      body: { error: { code: 'forbidden', message: 'you are not a participant of this chat' } },
    }));
    await histories.loadLatest(chat.id);
    expect(store.getState().histories[chat.id]?.error).toBe(
      'You are not a participant of this chat.',
    );
  });
});
