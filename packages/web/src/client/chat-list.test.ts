import type { Chat } from '@parley/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { ChatList } from './chat-list.js';
import { FakeServer, fakeSession, settle } from './testing.js';

afterEach(() => vi.unstubAllGlobals());

describe('the chat list', () => {
  it('loads every page, and keeps a chat that left meanwhile out', async () => {
    const alice = f.me({ username: 'alice' });
    const [a, b, c] = [
      f.chat([alice, f.user()]),
      f.chat([alice, f.user()]),
      f.chat([alice, f.user()]),
    ];
    const server = new FakeServer();
    let release: (() => void) | undefined;
    server.route('GET', /^\/api\/chats$/, async (call) => {
      if (!call.query.get('cursor'))
        return { status: 200, body: { chats: [a], next_cursor: 'p2' } };
      await new Promise<void>((r) => (release = r));
      return { status: 200, body: { chats: [b, c], next_cursor: null } };
    });
    server.install();
    const env = fakeSession(alice);
    const listed = vi.fn(async () => {});
    const list = new ChatList(env.session, { listed });
    const done = list.resync();
    await settle();
    expect(env.store.getState().chats.map((x: Chat) => x.id)).toEqual([a.id]);
    list.removed(c.id); // chat:removed while page 2 was on its way
    release?.();
    await done;
    expect(
      env.store
        .getState()
        .chats.map((x) => x.id)
        .sort(),
    ).toEqual([a.id, b.id].sort());
    expect(env.store.getState().chatsLoaded).toBe(true);
    expect(listed).toHaveBeenCalledTimes(1);
  });

  it('says why in words when the list cannot load', async () => {
    const server = new FakeServer();
    server.route('GET', /^\/api\/chats$/, () => ({
      status: 503,
      body: { error: { code: 'unavailable', message: 'database down' } },
    }));
    server.install();
    const env = fakeSession(f.me());
    await new ChatList(env.session, { listed: async () => {} }).resync();
    expect(env.store.getState().notice?.text).toBe(
      'The server is busy or restarting. Try again in a moment.',
    );
  });
});
