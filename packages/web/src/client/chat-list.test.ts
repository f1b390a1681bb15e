import type { Chat } from '@parley/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { ChatList } from './chat-list.js';
import { FakeServer, fakeSession } from './testing.js';

afterEach(() => vi.unstubAllGlobals());

describe('the chat list', () => {
  /** Chats a, b, c, d, newest activity first, and a server that pages them [a], [b], [c, d]. */
  function pagedServer() {
    const alice = f.me({ username: 'alice' });
    const at = (day: number) => `2026-01-0${day}T10:00:00.000Z`;
    const [a, b, c, d] = [4, 3, 2, 1].map((day) =>
      f.chat([alice, f.user()], { created_at: at(day), updated_at: at(day) }),
    ) as [Chat, Chat, Chat, Chat];
    const server = new FakeServer();
    const pages: Record<string, { chats: Chat[]; next_cursor: string | null }> = {
      '': { chats: [a], next_cursor: 'p2' },
      p2: { chats: [b], next_cursor: 'p3' },
      p3: { chats: [c, d], next_cursor: null },
    };
    let hold: Promise<void> | null = null;
    server.route('GET', /^\/api\/chats$/, async (call) => {
      const cursor = call.query.get('cursor') ?? '';
      if (cursor && hold) await hold;
      return { status: 200, body: pages[cursor] };
    });
    server.route('GET', /^\/api\/chats\/[^/]+$/, (call) => {
      const chat = [a, b, c, d].find((x) => call.path.endsWith(x.id));
      return chat
        ? { status: 200, body: chat }
        : { status: 404, body: { error: { code: 'not_found', message: 'no such chat' } } };
    });
    server.install();
    const env = fakeSession(alice);
    const listed = vi.fn(async () => {});
    const list = new ChatList(env.session, { listed });
    const ids = () => env.store.getState().chats.map((x) => x.id);
    return {
      a,
      b,
      c,
      d,
      env,
      list,
      listed,
      ids,
      holdOlder: () => {
        let release = () => {};
        hold = new Promise<void>((r) => (release = r));
        return release;
      },
    };
  }

  it('shows the first page at once and loads older pages on demand', async () => {
    const { a, b, c, d, env, list, listed, ids, holdOlder } = pagedServer();
    await list.resync();
    // One page is the list for now: shown, and the rest is offered.
    expect(ids()).toEqual([a.id]);
    expect(env.store.getState()).toMatchObject({ chatsLoaded: true, olderChats: 'more' });
    expect(listed).toHaveBeenCalledTimes(1);
    expect(list.whole).toBe(false);
    await list.loadOlder();
    expect(ids()).toEqual([a.id, b.id]);
    expect(env.store.getState().olderChats).toBe('more');

    const release = holdOlder();
    const older = list.loadOlder();
    expect(env.store.getState().olderChats).toBe('loading');
    list.removed(d.id); // chat:removed while the page was on its way
    release();
    await older;
    expect(ids()).toEqual([a.id, b.id, c.id]);
    expect(env.store.getState().olderChats).toBe('none');
    expect(list.whole).toBe(true);
  });

  it('on a reconnect fetches as many pages as were loaded, so the list does not shrink', async () => {
    const { a, b, c, d, env, list, ids } = pagedServer();
    await list.resync();
    await list.loadAll();
    expect(ids()).toEqual([a.id, b.id, c.id, d.id]);
    await list.resync();
    expect(ids()).toEqual([a.id, b.id, c.id, d.id]);
    expect(env.store.getState().olderChats).toBe('none');
  });

  it('fetches alone a chat beyond the pages loaded, and keeps it over a resync', async () => {
    const { a, b, d, env, list, ids } = pagedServer();
    await list.resync();
    expect((await list.fetchChat(d.id))?.id).toBe(d.id);
    expect(ids()).toEqual([a.id, d.id]);
    // Two held, two fetched ([a], [b]); d is older than b: it lies beyond the pages, not gone.
    await list.resync();
    expect(ids()).toEqual([a.id, b.id, d.id]);
    // Not one of mine: null, and nothing said (a stale link closes quietly).
    expect(await list.fetchChat(f.chat([f.user(), f.user()]).id)).toBeNull();
    expect(env.store.getState().notice).toBeNull();
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
