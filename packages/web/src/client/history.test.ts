import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyChanges } from '../state.js';
import * as f from '../test/factories.js';
import { CATCH_UP_MAX, Histories } from './history.js';
import { FakeChat, FakeServer, fakeSession } from './testing.js';

afterEach(() => vi.unstubAllGlobals());

function setup(total: number) {
  const alice = f.me({ username: 'alice' });
  const bob = f.user({ username: 'bob' });
  const remote = new FakeChat(f.chat([alice, bob]));
  for (let i = 0; i < total; i++) remote.send(bob);
  const server = new FakeServer();
  remote.serve(server);
  server.install();
  const env = fakeSession(alice);
  const chat = remote.current();
  env.store.update((s) => ({ ...s, chats: [chat] }));
  const settled = vi.fn();
  const histories = new Histories(env.session, {
    changes: (chatId, messages, version) =>
      env.store.update((s) => applyChanges(s, chatId, messages, version, false)),
    settled,
  });
  const held = () => env.store.getState().histories[chat.id]!;
  return { ...env, alice, bob, chat, remote, server, histories, settled, held };
}

describe('histories', () => {
  it('loads the latest page, then older ones until there are no more', async () => {
    const { chat, histories, held, server } = setup(120);
    await histories.loadLatest(chat.id);
    expect(held()).toMatchObject({ loaded: true, hasMore: true, version: 120 });
    expect(held().messages[0]?.seq).toBe(71);
    await histories.loadOlder(chat.id);
    await histories.loadOlder(chat.id);
    await histories.loadOlder(chat.id); // nothing more: no request
    expect(held().messages.map((m) => m.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(held().hasMore).toBe(false);
    expect(server.called('GET', /\/messages$/)).toHaveLength(3);
  });

  it('catches up new messages, edits, tombstones and reactions by changes?since', async () => {
    const { alice, bob, chat, remote, store, histories, held, server } = setup(5);
    await histories.loadLatest(chat.id);
    const [m1, m2, m3] = remote.messages;
    // While away: a new message, then an edit of it (its version is now above the next
    // message's), another message, an edit, a delete and a reaction on held ones.
    const m6 = remote.send(bob, 'six');
    remote.send(bob, 'seven');
    remote.edit(m6.id, 'six, edited');
    remote.edit(m1!.id, 'one, edited');
    remote.remove(m2!.id);
    remote.react(m3!.id, alice.id, '👍', 'add');
    store.update((st) => ({ ...st, chats: [remote.current()] })); // the list, fetched on reconnect
    await histories.catchUpHeld();
    const h = held();
    expect(h.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(h.messages.map((m) => m.content)).toEqual([
      'one, edited',
      '',
      'message 3',
      'message 4',
      'message 5',
      'six, edited',
      'seven',
    ]);
    expect(h.messages[1]?.deleted_at).not.toBeNull();
    expect(h.messages[2]?.reactions).toEqual([{ emoji: '👍', count: 1, user_ids: [alice.id] }]);
    expect(h.version).toBe(remote.version);
    // Only what changed was fetched: one changes call from the version held, no message pages.
    expect(server.called('GET', /\/changes$/).map((c) => c.query.get('since'))).toEqual(['5']);
    expect(server.called('GET', /\/messages$/)).toHaveLength(1);
    // Nothing new since (the chat's version is the history's): nothing asked.
    await histories.catchUp(chat.id);
    expect(server.called('GET', /\/changes$/)).toHaveLength(1);
  });

  it('pages through changes and lands every new message in seq order', async () => {
    const { bob, chat, remote, store, histories, held, server } = setup(2);
    await histories.loadLatest(chat.id);
    const fresh = Array.from({ length: 250 }, () => remote.send(bob));
    // The first new message changes last: it comes on the last page.
    remote.edit(fresh[0]!.id, 'first, edited');
    store.update((st) => ({ ...st, chats: [remote.current()] }));
    await histories.catchUp(chat.id);
    expect(server.called('GET', /\/changes$/)).toHaveLength(2);
    expect(held().messages.map((m) => m.seq)).toEqual(Array.from({ length: 252 }, (_, i) => i + 1));
    expect(held().messages[2]?.content).toBe('first, edited');
  });

  it('loads the latest page instead when the history is too far behind', async () => {
    const { bob, chat, remote, store, histories, held, server } = setup(3);
    await histories.loadLatest(chat.id);
    for (let i = 0; i <= CATCH_UP_MAX; i++) remote.send(bob);
    store.update((s) => ({ ...s, chats: [remote.current()] }));
    await histories.catchUp(chat.id);
    expect(server.called('GET', /\/changes$/)).toHaveLength(0);
    expect(held().messages.at(-1)?.seq).toBe(remote.messages.length);
    expect(held().messages).toHaveLength(50);
  });

  it('pages back until a message asked for is held', async () => {
    const { chat, remote, histories, held } = setup(300);
    const target = remote.messages[10]!;
    expect(await histories.reveal(chat.id, target.id)).toBe(true);
    expect(held().messages.some((m) => m.id === target.id)).toBe(true);
    expect(held().messages.map((m) => m.seq)).toEqual(
      Array.from(
        { length: held().messages.length },
        (_, i) => 300 - held().messages.length + i + 1,
      ),
    );
    expect(await histories.reveal(chat.id, '00000000-0000-4000-8000-00000000ffff')).toBe(false);
  });

  it('shows a load failure in words on the history', async () => {
    const { chat, server, histories, held } = setup(0);
    server.route('GET', /\/messages$/, () => ({
      status: 403,
      body: { error: { code: 'forbidden', message: 'you are not a participant of this chat' } },
    }));
    await histories.loadLatest(chat.id);
    expect(held().error).toBe('You are not a participant of this chat.');
  });
});
